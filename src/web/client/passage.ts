// Step 1: the passage, from a demo article (stored concepts) or pasted text split into concepts.
import { splitText } from "../../ingest/corpus.ts";
import { client, unwrap } from "./api.ts";
import { setChain } from "./chain.ts";
import { $, element } from "./dom.ts";

export async function loadArticles() {
  const { documents } = await unwrap(client.v1.documents.$get());
  $<HTMLSelectElement>("article").append(
    ...documents.map((d) => {
      const option = element("option", undefined, `${d.title} (${d.concepts})`);
      option.value = String(d.index);
      return option;
    }),
  );
}

export async function pickArticle() {
  const index = $<HTMLSelectElement>("article").value;
  if (index === "") return;
  const doc = await unwrap(client.v1.documents[":index"].$get({ param: { index }, query: {} }));
  // The first six concepts: five as context, so the seventh and later are what a reader would expect next.
  setChain(doc.concepts.slice(0, 6).map((c) => ({ text: c.text, row: c.row })));
  $<HTMLTextAreaElement>("passage").value = doc.concepts.map((c) => c.text).join("\n\n");
}

export function splitPassage() {
  const text = $<HTMLTextAreaElement>("passage").value;
  const unit = $<HTMLSelectElement>("unit").value;
  let concepts = splitText(text);
  if (unit.startsWith("sentences:")) {
    const n = Number(unit.split(":")[1]);
    const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });
    concepts = concepts.flatMap((p) => {
      const s = [...segmenter.segment(p)].map((x) => x.segment.trim()).filter(Boolean);
      const groups: string[] = [];
      for (let i = 0; i < s.length; i += n) groups.push(s.slice(i, i + n).join(" "));
      return groups;
    });
  }
  setChain(concepts.map((text) => ({ text })));
}
