import type { ConceptStore } from "../store/concept-store.ts";
import { RequestError } from "./errors.ts";
import type { PredictDeps } from "./types.ts";

const textRows = new WeakMap<ConceptStore, Map<string, number>>();

/** The row of the stored concept whose text is exactly `text` (the map is built once per store, on first use). */
export function rowOfText(store: ConceptStore, text: string): number | undefined {
  let map = textRows.get(store);
  if (!map) {
    map = new Map();
    for (let row = store.count - 1; row >= 0; row--) map.set(store.text(row), row); // the first row wins
    textRows.set(store, map);
  }
  return map.get(text);
}

export interface EmbeddedTexts {
  /** [texts, dim] unit rows, in the texts' order. */
  vectors: Float32Array;
  /** Per text: the stored concept whose text it equals (its stored vector was used), else undefined. */
  rows: (number | undefined)[];
  /** Time in the encoder; undefined when every text was a stored concept's. */
  embedMs?: number;
}

/**
 * Texts -> unit vectors. A text equal to a stored concept's text takes the stored vector and embeds nothing
 * (counted as a stored hit in deps.embedCache); the rest go to the encoder in one call (behind the process's
 * LRU where the runtime wrapped it, src/encoders/cached-encoder.ts). `field(i)` names text i in errors.
 */
export async function embedTexts(deps: PredictDeps, texts: readonly string[], field: (i: number) => string): Promise<EmbeddedTexts> {
  const { store } = deps;
  const dim = store.dim;
  const vectors = new Float32Array(texts.length * dim);
  const rows = texts.map((text) => rowOfText(store, text));
  const missing: number[] = [];
  rows.forEach((row, i) => {
    if (row === undefined) missing.push(i);
    else vectors.set(store.vector(row), i * dim);
  });
  deps.embedCache?.countStoredHits(texts.length - missing.length);
  if (missing.length === 0) return { vectors, rows };
  if (!deps.encoder)
    throw new RequestError(
      400,
      "text_unsupported",
      "this deployment has no text encoder: send vectors or stored concepts ({row})",
      field(missing[0]),
    );
  const encoder = await deps.encoder();
  const started = performance.now();
  const embedded = await encoder.embed(missing.map((i) => texts[i]));
  const embedMs = performance.now() - started;
  missing.forEach((i, j) => {
    vectors.set(embedded.subarray(j * dim, (j + 1) * dim), i * dim);
  });
  return { vectors, rows, embedMs };
}
