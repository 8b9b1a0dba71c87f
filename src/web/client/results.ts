// The result cards: one per model, each result a button that extends the chain with it.
import { $, element } from "./dom.ts";
import type { Column } from "./run.ts";

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
      card.append(element("h3", undefined, col.name), element("p", "score", `${col.backend}, ${col.ms.toFixed(1)} ms`), list);
      return card;
    }),
  );
}
