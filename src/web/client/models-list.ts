// The models to compare: checkboxes from GET /v1/models (the default and copy-last checked).
import { client, unwrap } from "./api.ts";
import { $, element } from "./dom.ts";

export async function loadModelsList() {
  const body = await unwrap(client.v1.models.$get());
  $("models").replaceChildren(
    ...body.models.map((m) => {
      const label = element("label");
      const input = element("input");
      input.type = "checkbox";
      input.value = m.name;
      input.checked = m.name === body.default || m.name === "copy-last";
      label.append(
        input,
        ` ${m.name} `,
        element("small", undefined, `(${m.arch === "baseline" ? "baseline" : `${m.arch}, ${m.backend}`})`),
      );
      label.title = m.description;
      return label;
    }),
  );
}

export function selectedModels(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>("#models input:checked")].map((i) => i.value);
}
