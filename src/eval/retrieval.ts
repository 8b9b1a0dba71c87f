// Batched retrieval ranks: queries x store^T with TF.js in blocks, then the rank of each target in JS.
// exactSearch (src/index/exact.ts) is the reference; test/eval/retrieval.test.ts checks they agree.
import * as tf from "@tensorflow/tfjs";
import { type StoreHubness, storeHubness } from "../index/hubness.ts";

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
 * Blended queries scored beside the predictions: for each entry k the query is (1 - weights[k]) * pred +
 * weights[k] * last. With `hubness` and hubWeights[k] > 0 the entry is ranked with the hubness penalty
 * (src/index/hubness.ts): the query is made unit first, since the penalty is subtracted from its cosine.
 */
export interface BlendQueries {
  last: Float32Array;
  weights: number[];
  /** Penalty weight per entry (absent or 0: plain cosine, ranked as before). */
  hubWeights?: number[];
  /** hub(c) per stored row (StoreHubness.values); required when some hubWeights[k] > 0. */
  hubness?: Float32Array;
}

/**
 * Ranks of the targets for the predictions [n, dim], window i's context being rows targets[i]-context ..
 * targets[i]-1. `blend` optionally adds predictions mixed with the last context: for each weight w the
 * query is (1 - w) * pred + w * last (ranks do not depend on the query's length unless the entry has a
 * hubness penalty b: then the score of c is ((1-w) p.c + w l.c) / ||(1-w) p + w l|| - b * hub(c)).
 */
export function rankTargets(
  index: RetrievalIndex,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  blend?: BlendQueries,
): { ranks: Ranks; blended: Ranks[] } {
  const n = targets.length;
  const dim = index.dim;
  const ranks: Ranks = { excluded: new Int32Array(n), included: new Int32Array(n) };
  const blended: Ranks[] = (blend?.weights ?? []).map(() => ({ excluded: new Int32Array(n), included: new Int32Array(n) }));
  const hubWeights = blend?.weights.map((_, k) => blend.hubWeights?.[k] ?? 0) ?? [];
  if (hubWeights.some((b) => b > 0) && blend?.hubness?.length !== index.count)
    throw new Error(`a hubness penalty needs ${index.count} hub values, got ${blend?.hubness?.length ?? "none"}`);
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
          const b = hubWeights[k];
          if (b > 0) {
            const norm = blendNorm(predictions, blend.last, i, dim, w);
            const [a, c] = [(1 - w) / norm, w / norm];
            const hub = blend.hubness as Float32Array;
            // One pass for both protocols (the sweeps of chooseBlend score many entries).
            const st = a * ps[off + t] + c * ls[off + t] - b * hub[t];
            let higher = 0;
            let higherInContext = 0;
            for (let j = 0; j < index.count; j++) {
              if (j === t) continue;
              const v = a * ps[off + j] + c * ls[off + j] - b * hub[j];
              if (v > st || (v === st && j < t)) {
                higher++;
                if (j >= t - context && j < t) higherInContext++;
              }
            }
            blended[k].included[i] = 1 + higher;
            blended[k].excluded[i] = 1 + higher - higherInContext;
          } else {
            for (let j = 0; j < index.count; j++) mixed[j] = (1 - w) * ps[off + j] + w * ls[off + j];
            blended[k].excluded[i] = rankInRow(mixed, 0, index.count, t, t - context, true);
            blended[k].included[i] = rankInRow(mixed, 0, index.count, t, t - context, false);
          }
        });
      }
    }
  }
  return { ranks, blended };
}

/** ||(1 - w) p + w l|| for window i: (1-w)^2 |p|^2 + w^2 |l|^2 + 2 w (1-w) p.l (1 for w in {0, 1} and unit rows). */
function blendNorm(p: Float32Array, l: Float32Array, i: number, dim: number, w: number): number {
  let pp = 0;
  let ll = 0;
  let pl = 0;
  for (let d = i * dim; d < (i + 1) * dim; d++) {
    pp += p[d] * p[d];
    ll += l[d] * l[d];
    pl += p[d] * l[d];
  }
  const sq = (1 - w) ** 2 * pp + w * w * ll + 2 * w * (1 - w) * pl;
  return sq > 0 ? Math.sqrt(sq) : 1;
}

/**
 * hub(c) of every stored row (src/index/hubness.ts) with TF.js: a block of rows against store^T, the row
 * itself dropped from its top neighbours + 1, the rest averaged. hubnessReference is the plain reference.
 */
export function storeHubnessTf(index: RetrievalIndex, vectors: Float32Array, neighbours: number, block = BLOCK): StoreHubness {
  const { count, dim } = index;
  const values = new Float32Array(count);
  const k = Math.min(neighbours + 1, count);
  for (let from = 0; from < count; from += block) {
    const to = Math.min(count, from + block);
    const rows = to - from;
    const [topValues, topRows] = tf.tidy(() => {
      const scores = tf.matMul(tf.tensor2d(vectors.subarray(from * dim, to * dim), [rows, dim]), index.transposed);
      const { values: v, indices } = tf.topk(scores, k);
      return [v, indices];
    });
    const v = readAndDispose(topValues);
    const at = topRows.dataSync() as Int32Array;
    topRows.dispose();
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      let taken = 0;
      for (let j = 0; j < k && taken < neighbours; j++) {
        if (at[r * k + j] === from + r) continue;
        sum += v[r * k + j];
        taken++;
      }
      values[from + r] = taken > 0 ? sum / taken : 0;
    }
  }
  return storeHubness(values, neighbours);
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
