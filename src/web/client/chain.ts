// The chain of concepts: the context the models read (its last five items) and how it is shown.
import type { ContextItem } from "../../predict/types.ts";
import { encodeVectorB64 } from "../../predict/vector-b64.ts";
import { client } from "./api.ts";
import { $, element } from "./dom.ts";

export const CONTEXT = 5;

export interface ChainItem {
  text: string;
  /** Set for stored concepts (a demo article's or a picked result): sent as {row}. */
  row?: number;
  /** Set once a typed text is embedded (embedContext): sent as {b64}, base64 float32. */
  vector?: Float32Array;
}

export const chain: ChainItem[] = [];

/**
 * Embeds the context's typed texts once (one POST /v1/embed) and keeps their vectors, so the requests carry
 * them as {b64} (a quarter of JSON numbers) and each model's request skips the encoder. Where the deployment
 * has no encoder they stay texts, and the prediction request says why.
 */
export async function embedContext(): Promise<void> {
  const pending = chain.slice(-CONTEXT).filter((c) => c.row === undefined && c.vector === undefined);
  if (pending.length === 0) return;
  const res = await client.v1.embed.$post({ json: { texts: pending.map((c) => c.text) } });
  if (!res.ok) return;
  const { vectors } = await res.json();
  pending.forEach((c, i) => {
    c.vector = Float32Array.from(vectors[i]);
  });
}

/** The request's context: stored concepts by row, embedded texts as {b64}, other concepts as text. */
export function contextItems(): ContextItem[] {
  return chain.slice(-CONTEXT).map((c) => (c.row !== undefined ? { row: c.row } : c.vector ? encodeVectorB64(c.vector) : c.text));
}

export function setChain(items: ChainItem[]) {
  chain.splice(0, chain.length, ...items);
  renderChain();
}

export function renderChain() {
  $("chain").replaceChildren(
    ...chain.map((item, i) => {
      const li = element("li", i >= chain.length - CONTEXT ? "context" : undefined);
      if (item.row !== undefined) li.dataset.row = String(item.row);
      li.append(element("span", "text", item.text));
      return li;
    }),
  );
  $("chain-count").textContent = chain.length ? `(${chain.length})` : "";
}
