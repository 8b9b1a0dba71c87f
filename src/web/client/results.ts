// The result cards: one per model, each result a button that extends the chain with it; text the decoder wrote
// for the prediction (decode) is shown apart, marked as generated with its re-embedding cosine.
import type { GeneratedText } from "../../predict/types.ts";
import { $, element } from "./dom.ts";
import type { Column } from "./run.ts";

/** A generated text, visibly not a stored concept: a badge, the text, and how close its re-embedding is. */
export function generatedLine(g: GeneratedText): HTMLElement {
  const p = element("p", "generated");
  p.title = "Written by the vector-to-text decoder from the predicted vector; not a stored concept";
  p.append(
    element("span", "badge", "generated"),
    g.text || "(empty)",
    element("span", "score", ` cosine ${g.cosine.toFixed(3)} to the prediction · ${g.steps} refinement step${g.steps === 1 ? "" : "s"}`),
  );
  return p;
}

/** The chain a generate request added, each step's retrieved concept beside the text generated for its prediction. */
export function renderGenerated(name: string, steps: { text: string; generated?: GeneratedText }[]) {
  const card = element("div", "card");
  card.dataset.model = name;
  const list = element("ol");
  for (const step of steps) {
    const li = element("li");
    li.append(element("p", undefined, `${step.text.slice(0, 160)}${step.text.length > 160 ? "…" : ""}`));
    if (step.generated) li.append(generatedLine(step.generated));
    list.append(li);
  }
  card.append(element("h3", undefined, `${name}: generated chain`), element("p", "score", "retrieved concept, then generated text"), list);
  $("results").replaceChildren(card);
}

export function renderResults(columns: Column[], onPick: (result: Column["results"][number]) => void) {
  $("results").replaceChildren(
    ...columns.map((col) => {
      const card = element("div", "card");
      card.dataset.model = col.name;
      const list = element("ol");
      for (const r of col.results) {
        const button = element("button");
        button.type = "button";
        button.dataset.row = String(r.row);
        button.title = "Use as the next concept and predict again";
        button.append(
          `${r.text.slice(0, 160)}${r.text.length > 160 ? "…" : ""}`,
          element("span", "score", ` ${r.score.toFixed(3)} · ${r.title}`),
        );
        button.addEventListener("click", () => onPick(r));
        const li = element("li");
        li.append(button);
        list.append(li);
      }
      card.append(element("h3", undefined, col.name), element("p", "score", `${col.backend}, ${col.ms.toFixed(1)} ms`));
      if (col.generated) card.append(generatedLine(col.generated));
      card.append(list);
      return card;
    }),
  );
}
