// The chain of concepts: the context the models read (its last five items) and how it is shown.
import type { ContextItem } from "../../predict/types.ts";
import { encodeVectorB64 } from "../../predict/vector-b64.ts";
import { $, element } from "./dom.ts";

export const CONTEXT = 5;

export interface ChainItem {
  text: string;
  /** Set for stored concepts (a demo article's or a picked result): sent as {row}. */
  row?: number;
  /** Set once a typed text is embedded (embedContext): sent as {b64}, base64 float32. */
  vector?: Float32Array;
  /** Which encoder made `vector` (the server's or this page's): the other mode embeds the text again. */
  vectorBy?: string;
}

export const chain: ChainItem[] = [];

/** The context's typed texts that `by` has not embedded yet. */
export function unembedded(by: string): ChainItem[] {
  return chain.slice(-CONTEXT).filter((c) => c.row === undefined && c.vectorBy !== by);
}

/**
 * Embeds the context's typed texts once per encoder (`embed`: POST /v1/embed, or this page's encoder) and keeps
 * their vectors, so the requests carry them as {b64} (a quarter of JSON numbers) and each model's request skips
 * the encoder. Where `embed` gives nothing (a deployment with no encoder) they stay texts, and the prediction
 * request says why.
 */
export async function embedContext(by: string, embed: (texts: string[]) => Promise<Float32Array[] | undefined>): Promise<void> {
  const pending = unembedded(by);
  if (pending.length === 0) return;
  const vectors = await embed(pending.map((c) => c.text));
  pending.forEach((c, i) => {
    c.vector = vectors?.[i];
    c.vectorBy = vectors ? by : undefined;
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
