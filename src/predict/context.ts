import { dot } from "../math/vectors.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { embedTexts } from "./embed-texts.ts";
import { RequestError } from "./errors.ts";
import { unitVector } from "./search.ts";
import type { ContextItem, PredictDeps } from "./types.ts";
import { decodeVectorB64 } from "./vector-b64.ts";

export { rowOfText } from "./embed-texts.ts";

/** A vector this close to a stored concept is that concept (INT8 round trips stay above it). */
export const SAME_CONCEPT_COSINE = 0.9999;

export interface ResolvedContext {
  /** [context, dim] unit rows, oldest first. */
  vectors: Float32Array;
  /** The stored rows among the context items: never returned as predictions. */
  rows: Set<number>;
  /**
   * Vector items (JSON numbers or `{b64}`), unit length. Such an item is a stored concept when a stored row is
   * within SAME_CONCEPT_COSINE of it; that is checked on the search's candidates (isContextRow), not by a
   * nearest-row search per item up front, which cost 5 index searches a request (measured with
   * bench/http-forms.ts: 2-4x the req/s of {row}).
   */
  vectorItems: Float32Array[];
  embedMs?: number;
}

/** Whether stored `row` is a context concept: one of its rows, or within SAME_CONCEPT_COSINE of a vector item. */
export function isContextRow(store: ConceptStore, context: Pick<ResolvedContext, "rows" | "vectorItems">, row: number): boolean {
  if (context.rows.has(row)) return true;
  if (context.vectorItems.length === 0) return false;
  const v = store.vector(row);
  return context.vectorItems.some((item) => dot(v, item) > SAME_CONCEPT_COSINE);
}

/**
 * Turns the request's context into exactly `context` unit vectors and the stored rows it holds. The last
 * `context` items are used; a shorter context is left-padded by repeating its first item, so one sentence is
 * a valid (if weak) context. An item is a stored concept when it is `{row}`, a text equal to a stored text (whose
 * stored vector is used: nothing is embedded),
 * or a vector (JSON numbers or `{b64}`) within SAME_CONCEPT_COSINE of a stored concept (see isContextRow).
 */
export async function resolveContext(deps: PredictDeps, items: ContextItem[], context: number): Promise<ResolvedContext> {
  const { store } = deps;
  const dim = store.dim;
  const first = Math.max(0, items.length - context);
  const used = items.slice(first);
  const unit = new Float32Array(used.length * dim);
  const rows = new Set<number>();
  const texts: { index: number; text: string }[] = [];
  const vectorItems: Float32Array[] = [];
  used.forEach((item, i) => {
    const field = `context.${first + i}`;
    if (typeof item === "string") {
      texts.push({ index: i, text: item });
    } else if (Array.isArray(item) || "b64" in item) {
      const vector = Array.isArray(item)
        ? unitVector(item, dim, field)
        : unitVector(decodeVectorB64(item.b64, dim, `${field}.b64`), dim, `${field}.b64`);
      unit.set(vector, i * dim);
      vectorItems.push(unit.subarray(i * dim, (i + 1) * dim));
    } else {
      const { row } = item;
      if (!Number.isInteger(row) || row < 0 || row >= store.count)
        throw new RequestError(404, "unknown_concept", `no concept ${row} (0..${store.count - 1})`, `${field}.row`);
      unit.set(store.vector(row), i * dim);
      rows.add(row);
    }
  });
  let embedMs: number | undefined;
  if (texts.length > 0) {
    // Stored texts take their stored vector (and are excluded as context rows); only the others are embedded.
    const embedded = await embedTexts(
      deps,
      texts.map((t) => t.text),
      (j) => `context.${first + texts[j].index}`,
    );
    embedMs = embedded.embedMs;
    texts.forEach((t, j) => {
      unit.set(embedded.vectors.subarray(j * dim, (j + 1) * dim), t.index * dim);
      const row = embedded.rows[j];
      if (row !== undefined) rows.add(row);
    });
  }
  const vectors = new Float32Array(context * dim);
  const pad = context - used.length;
  for (let t = 0; t < context; t++) {
    const from = Math.max(0, t - pad);
    vectors.set(unit.subarray(from * dim, (from + 1) * dim), t * dim);
  }
  return { vectors, rows, vectorItems, embedMs };
}
