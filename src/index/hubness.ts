/**
 * Hubness penalty for prediction search. Some stored concepts (short, generic paragraphs) lie close to very
 * many others and come back for almost any predicted vector. Ranking candidate c for a prediction q by
 *
 *   score(c) = q . c - weight * hub(c),   hub(c) = mean cosine of c to its `neighbours` nearest other rows
 *
 * (the candidate half of CSLS, Conneau et al. 2018) demotes them. hub(c) depends on the store alone (no
 * labels, nothing about the query): it is computed when a store is loaded. `weight` belongs to the model: it
 * is chosen on the validation split with the last-context blend (model.json `retrieval.hubness`).
 *
 * Measured on dev1k validation (3,888 windows, `lvm tune`): gru-edge R@5 30.6 -> 33.7 with 10 neighbours and
 * the chosen weight 0.6; on test 32.6 -> 35.5, copy-last with the same penalty 24.9 -> 28.9 (reports show both
 * copy-last rows).
 *
 * penalisedSearch uses the index's own penalised scan where it has one (CoreIndex on the relaxed core);
 * otherwise it works over any index that returns top-n by cosine: it asks for a short list, re-ranks it by
 * the penalised score, and grows the list until no row outside it can enter the top k (a row outside scores
 * at most `last cosine - weight * min hub`). Over an exact index the answer is exact.
 */
import { exactSearch, type SearchHits } from "./exact.ts";

export interface StoreHubness {
  /** Neighbours averaged per row. */
  neighbours: number;
  /** hub(c) per stored row. */
  values: Float32Array;
  /** The smallest value (bounds what a row outside a short list can score). */
  min: number;
}

/** A model's penalty over a store's hubness. */
export interface HubnessPenalty {
  hubness: StoreHubness;
  weight: number;
}

/** The default neighbour count (chosen on dev1k validation: 5 and 10 tie, 50 is worse). */
export const HUBNESS_NEIGHBOURS = 10;

export function storeHubness(values: Float32Array, neighbours: number): StoreHubness {
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < min) min = v;
  return { neighbours, values, min: values.length ? min : 0 };
}

/** Mean of the top scores of each row's hits (self excluded by the search). */
function meanOfHits(hits: SearchHits, neighbours: number): number {
  let s = 0;
  const n = Math.min(neighbours, hits.scores.length);
  for (let i = 0; i < n; i++) s += hits.scores[i];
  return n > 0 ? s / n : 0;
}

/** Plain TypeScript reference: exactSearch per row, the row itself excluded. vectors: count x dim unit rows. */
export function hubnessReference(vectors: Float32Array, dim: number, neighbours: number): StoreHubness {
  const count = vectors.length / dim;
  const values = new Float32Array(count);
  for (let row = 0; row < count; row++) {
    const hits = exactSearch(vectors, dim, vectors.subarray(row * dim, (row + 1) * dim), neighbours, new Set([row]));
    values[row] = meanOfHits(hits, neighbours);
  }
  return storeHubness(values, neighbours);
}

/** Anything that answers many queries at once (CoreIndex). */
export interface BatchSearcher {
  searchBatch(queries: Float32Array, nq: number, k: number, exclude?: (ReadonlySet<number> | undefined)[]): SearchHits[];
}

/** The same values from a batch searcher (the core index: every row read once per block of queries). */
export function hubnessFromIndex(index: BatchSearcher, vectors: Float32Array, dim: number, neighbours: number, block = 64): StoreHubness {
  const count = vectors.length / dim;
  const values = new Float32Array(count);
  for (let from = 0; from < count; from += block) {
    const to = Math.min(count, from + block);
    const exclude = Array.from({ length: to - from }, (_, i) => new Set([from + i]));
    const hits = index.searchBatch(vectors.subarray(from * dim, to * dim), to - from, neighbours, exclude);
    for (let i = 0; i < hits.length; i++) values[from + i] = meanOfHits(hits[i], neighbours);
  }
  return storeHubness(values, neighbours);
}

/**
 * A store's values with the default neighbour count: on the core index where there is one (every runtime's
 * exact index), else the TypeScript reference (slow: count^2 * dim multiply-adds in JS).
 */
export function hubnessForStore(store: { vectors: Float32Array; dim: number }, index?: BatchSearcher): StoreHubness {
  return index
    ? hubnessFromIndex(index, store.vectors, store.dim, HUBNESS_NEIGHBOURS)
    : hubnessReference(store.vectors, store.dim, HUBNESS_NEIGHBOURS);
}

/** What penalisedSearch needs of an index: top-n by cosine, now or later; and a one-scan penalised search if it has one. */
export interface CosineSearch {
  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>, options?: { ef?: number }): SearchHits | Promise<SearchHits>;
  /** CoreIndex on the relaxed core; undefined when it cannot (then the short list grows as below). */
  searchPenalised?(
    query: Float32Array,
    k: number,
    penalty: { values: Float32Array; weight: number },
    exclude?: ReadonlySet<number>,
  ): SearchHits | undefined;
}

/**
 * Top-k by `cosine - weight * hub` (ties: lower row first). Returned `scores` are the cosines, `rankScores`
 * the penalised scores they are ordered by. `count` is the number of stored rows (the list never grows past it).
 */
export async function penalisedSearch(
  index: CosineSearch,
  count: number,
  query: Float32Array,
  k: number,
  penalty: HubnessPenalty,
  exclude?: ReadonlySet<number>,
  ef?: number,
  /** False for an approximate index: one short list (ef or 4k + 64 rows) re-ranked, no growing (it would not be exact anyway). */
  exhaustive = true,
): Promise<SearchHits> {
  const { values, min } = penalty.hubness;
  const w = penalty.weight;
  // Measured (npm run bench -- lvm, dev1k 41,623 rows, top-10, weight 0.5): the growing short list costs ~10x
  // a plain search; the core's one-scan search costs about the same as a plain one.
  const native = index.searchPenalised?.(query, k, { values, weight: w }, exclude);
  if (native) return native;
  const excluded = exclude?.size ?? 0;
  let n = Math.min(count, Math.max(4 * k + 64 + excluded, exhaustive ? 0 : (ef ?? 0)));
  for (;;) {
    const hits = await index.search(query, n, exclude, { ef: ef === undefined ? undefined : Math.max(ef, n) });
    const order = Array.from(hits.rows.keys());
    const penalised = Float64Array.from(order, (i) => hits.scores[i] - w * values[hits.rows[i]]);
    order.sort((a, b) => penalised[b] - penalised[a] || hits.rows[a] - hits.rows[b]);
    const top = order.slice(0, k);
    const found = hits.rows.length;
    // Done when the list holds every candidate, or when the best an unseen row could score (at most the
    // list's last cosine minus the smallest penalty) cannot beat the k-th penalised score.
    const complete = n >= count || found < n;
    const bound = found ? hits.scores[found - 1] - w * min : Number.NEGATIVE_INFINITY;
    if (complete || !exhaustive || (top.length === k && bound < penalised[top[k - 1]])) {
      return {
        rows: Int32Array.from(top, (i) => hits.rows[i]),
        scores: Float32Array.from(top, (i) => hits.scores[i]),
        rankScores: Float32Array.from(top, (i) => penalised[i]),
      };
    }
    n = Math.min(count, 4 * n);
  }
}
