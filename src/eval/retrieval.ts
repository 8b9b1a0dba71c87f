// Batched retrieval ranks: queries x store^T with TF.js in blocks, then the rank of each target in JS.
// exactSearch (src/index/exact.ts) is the reference; test/eval/retrieval.test.ts checks they agree.
import * as tf from "@tensorflow/tfjs";

export interface RetrievalIndex {
  dim: number;
  count: number;
  /** store^T as [dim, count] (pre-transposed: the WASM transposed product is slow). */
  transposed: tf.Tensor2D;
  dispose(): void;
}

export function createRetrievalIndex(vectors: Float32Array, dim: number): RetrievalIndex {
  const count = vectors.length / dim;
  const transposed = tf.tidy(() => tf.transpose(tf.tensor2d(vectors, [count, dim]))) as tf.Tensor2D;
  return { dim, count, transposed, dispose: () => transposed.dispose() };
}

/** Ranks (1 = best) of each target with the context rows excluded from the candidates and included. */
export interface Ranks {
  excluded: Int32Array;
  included: Int32Array;
}

/**
 * Rank of `target` in one score row: 1 + the candidates scoring higher, or equal with a lower row (the tie
 * order of exactSearch). With `excludeFrom..target-1` skipped when `exclude` is true.
 */
export function rankInRow(
  scores: Float32Array,
  offset: number,
  count: number,
  target: number,
  excludeFrom: number,
  exclude: boolean,
): number {
  const s = scores[offset + target];
  let rank = 1;
  for (let c = 0; c < count; c++) {
    if (c === target) continue;
    if (exclude && c >= excludeFrom && c < target) continue;
    const v = scores[offset + c];
    if (v > s || (v === s && c < target)) rank++;
  }
  return rank;
}

const BLOCK = 256;

/** The values of a tensor, then the tensor disposed (never return a big typed array from tf.tidy: it walks it). */
export function readAndDispose(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/**
 * Ranks of the targets for the predictions [n, dim], window i's context being rows targets[i]-context ..
 * targets[i]-1. `blends` optionally adds predictions mixed with the last context: for each weight w the
 * query is (1 - w) * pred + w * last (ranks do not depend on the query's length).
 */
export function rankTargets(
  index: RetrievalIndex,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  blend?: { last: Float32Array; weights: number[] },
): { ranks: Ranks; blended: Ranks[] } {
  const n = targets.length;
  const dim = index.dim;
  const ranks: Ranks = { excluded: new Int32Array(n), included: new Int32Array(n) };
  const blended: Ranks[] = (blend?.weights ?? []).map(() => ({ excluded: new Int32Array(n), included: new Int32Array(n) }));
  const mixed = new Float32Array(index.count);
  for (let from = 0; from < n; from += BLOCK) {
    const to = Math.min(n, from + BLOCK);
    const rows = to - from;
    const scoreOf = (q: Float32Array) =>
      readAndDispose(tf.tidy(() => tf.matMul(tf.tensor2d(q.subarray(from * dim, to * dim), [rows, dim]), index.transposed)));
    const ps = scoreOf(predictions);
    const ls = blend ? scoreOf(blend.last) : null;
    for (let r = 0; r < rows; r++) {
      const i = from + r;
      const t = targets[i];
      ranks.excluded[i] = rankInRow(ps, r * index.count, index.count, t, t - context, true);
      ranks.included[i] = rankInRow(ps, r * index.count, index.count, t, t - context, false);
      if (blend && ls) {
        blend.weights.forEach((w, k) => {
          const off = r * index.count;
          for (let c = 0; c < index.count; c++) mixed[c] = (1 - w) * ps[off + c] + w * ls[off + c];
          blended[k].excluded[i] = rankInRow(mixed, 0, index.count, t, t - context, true);
          blended[k].included[i] = rankInRow(mixed, 0, index.count, t, t - context, false);
        });
      }
    }
  }
  return { ranks, blended };
}

export interface RecallSummary {
  "r@1": number;
  "r@5": number;
  "r@10": number;
  "r@20": number;
  /** Mean reciprocal rank, a fraction. */
  mrr: number;
}

/** Recall@k in percent and MRR (a fraction) from 1-based ranks. */
export function summarizeRanks(ranks: Int32Array): RecallSummary {
  const n = Math.max(ranks.length, 1);
  const within = (k: number) => (100 * ranks.reduce((a, r) => a + (r <= k ? 1 : 0), 0)) / n;
  return { "r@1": within(1), "r@5": within(5), "r@10": within(10), "r@20": within(20), mrr: ranks.reduce((a, r) => a + 1 / r, 0) / n };
}
