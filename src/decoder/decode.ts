/**
 * Decoding algorithms over any DecoderRunner (runtime-agnostic): greedy, beam search and sampling. Ids that are
 * never text (<unk>, <s>, reserved 3..5) are masked; </s> ends a hypothesis (not before its first piece).
 */
import type { Rng } from "../lvm/rng.ts";
import { type DecoderRunner, type DecoderState, gatherRows } from "./runner.ts";
import { BOS_ID, EOS_ID, FIRST_PIECE_ID } from "./text.ts";

export interface Hypothesis {
  ids: number[];
  /** Sum of the token log-probabilities (</s> included when it ended). */
  logProb: number;
}

/** Masks the never-text ids of each of `rows` rows of logits to -Infinity in place (and </s> when `noEnd`). */
function maskRows(runner: DecoderRunner, logits: Float32Array, rows: number, noEnd: boolean): void {
  const V = runner.config.vocab;
  for (let r = 0; r < rows; r++)
    for (let id = 0; id < FIRST_PIECE_ID; id++) if (id !== EOS_ID || noEnd) logits[r * V + id] = Number.NEGATIVE_INFINITY;
}

/**
 * Each row's log-sum-exp of masked logits: piece i of row r has log-probability logits[r * V + i] - lse[r]. The rows
 * are not normalised in place, since a decode reads the log-probabilities of the few pieces it picks, and ranking by
 * logit is ranking by log-probability. The core's SIMD kernel sums where the runner has one: a JS log-softmax of each
 * row was 22% of a refined decode's time (`node --cpu-prof`, docs/decoder.md).
 */
function logSumExpRows(runner: DecoderRunner, logits: Float32Array, rows: number): Float32Array {
  const V = runner.config.vocab;
  if (runner.logSumExpRows) return runner.logSumExpRows(logits, rows);
  const lse = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(row[i] - max);
    lse[r] = max + Math.log(sum);
  }
  return lse;
}

/** Row r's `k` best piece ids (topIds), from the runner's kernel for all rows at once where it has one. */
function topIdsOfRows(runner: DecoderRunner, logits: Float32Array, rows: number, k: number): (r: number) => number[] {
  const V = runner.config.vocab;
  if (!runner.topIdsRows) return (r) => topIds(logits.subarray(r * V, (r + 1) * V), k);
  const top = runner.topIdsRows(logits, rows, k);
  return (r) => {
    const ids: number[] = [];
    for (let j = r * k; j < (r + 1) * k && top[j] >= 0; j++) ids.push(top[j]);
    return ids;
  };
}

function checkVectors(runner: DecoderRunner, vectors: Float32Array, rows: number): void {
  if (vectors.length !== rows * runner.config.dim) throw new Error(`expected ${rows} x ${runner.config.dim} values, got ${vectors.length}`);
}

/** The most likely piece at each step, for each of `rows` vectors. */
export function greedyDecode(
  runner: DecoderRunner,
  vectors: Float32Array,
  rows: number,
  maxTokens = runner.config.maxTokens,
): Hypothesis[] {
  checkVectors(runner, vectors, rows);
  const V = runner.config.vocab;
  const state = runner.start(vectors, rows);
  const out: Hypothesis[] = Array.from({ length: rows }, () => ({ ids: [], logProb: 0 }));
  const done = new Uint8Array(rows);
  const tokens = new Int32Array(rows).fill(BOS_ID);
  for (let t = 0; t <= maxTokens && done.includes(0); t++) {
    const logits = runner.step(state, tokens);
    maskRows(runner, logits, rows, t === 0);
    const lse = logSumExpRows(runner, logits, rows);
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      const row = logits.subarray(r * V, (r + 1) * V);
      let best = EOS_ID;
      if (t < maxTokens) for (let i = 0; i < V; i++) if (row[i] > row[best]) best = i;
      out[r].logProb += row[best] - lse[r];
      if (best === EOS_ID) done[r] = 1;
      else out[r].ids.push(best);
      tokens[r] = best;
    }
  }
  return out;
}

/**
 * Beam search for one vector: `width` hypotheses kept by total log-probability; ended ones are ranked by
 * logProb / length^lengthPenalty. Returns up to `width` ended hypotheses, best first.
 */
export function beamDecode(
  runner: DecoderRunner,
  vector: Float32Array,
  width: number,
  options: { maxTokens?: number; lengthPenalty?: number } = {},
): Hypothesis[] {
  checkVectors(runner, vector, 1);
  const { maxTokens = runner.config.maxTokens, lengthPenalty = 1 } = options;
  const { vocab: V, hidden: H } = runner.config;
  const start = runner.start(vector, 1);
  let state: DecoderState = start;
  let beams: Hypothesis[] = [{ ids: [], logProb: 0 }];
  const ended: Hypothesis[] = [];
  const score = (h: Hypothesis) => h.logProb / Math.max(1, h.ids.length + 1) ** lengthPenalty;
  for (let t = 0; t <= maxTokens && beams.length > 0; t++) {
    const tokens = beams.map((b) => (b.ids.length ? b.ids[b.ids.length - 1] : BOS_ID));
    const logits = runner.step(state, tokens);
    maskRows(runner, logits, beams.length, t === 0);
    const lse = logSumExpRows(runner, logits, beams.length);
    const top = t < maxTokens ? topIdsOfRows(runner, logits, beams.length, width) : null;
    const candidates: { from: number; id: number; logProb: number }[] = [];
    for (let r = 0; r < beams.length; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      if (!top) {
        candidates.push({ from: r, id: EOS_ID, logProb: beams[r].logProb + row[EOS_ID] - lse[r] });
        continue;
      }
      for (const id of top(r)) candidates.push({ from: r, id, logProb: beams[r].logProb + row[id] - lse[r] });
    }
    candidates.sort((a, b) => b.logProb - a.logProb);
    const next: Hypothesis[] = [];
    const from: number[] = [];
    for (const c of candidates) {
      if (c.id === EOS_ID) {
        ended.push({ ids: beams[c.from].ids, logProb: c.logProb });
        continue;
      }
      next.push({ ids: [...beams[c.from].ids, c.id], logProb: c.logProb });
      from.push(c.from);
      if (next.length === width) break;
    }
    // Stop once the best ended hypothesis beats every live one even at its best-case score.
    if (ended.length >= width) break;
    beams = next;
    if (beams.length > 0) state = gatherRows(state, from, H, runner.condWidth);
  }
  return ended.sort((a, b) => score(b) - score(a)).slice(0, width);
}

/** The `k` ids of the highest finite values of `row`, best first (one pass, insertion into a short sorted list). */
export function topIds(row: Float32Array, k: number): number[] {
  const top: number[] = [];
  // The k-th best value so far (-Infinity, never kept, until there are k): most pieces cost one comparison.
  let floor = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) {
    const x = row[i];
    if (x <= floor) continue;
    let j = top.length < k ? top.length : k - 1;
    while (j > 0 && row[top[j - 1]] < x) {
      if (j < k) top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
    if (top.length === k) floor = row[top[k - 1]];
  }
  return top;
}

/**
 * `count` sampled hypotheses for one vector: temperature, then the top-k pieces. Finished rows leave the state, so a
 * step runs only the live ones (a step's cost is per row; samples end at different lengths). `logProb: false` leaves
 * each hypothesis's logProb NaN and skips the log-sum-exp of every row (refinement ranks samples by cosine, not
 * log-probability; the sum over 8k logits was 9% of a refined decode, `node --cpu-prof`, docs/decoder.md): the same
 * pieces either way, since sampling reads only the top-k logits' differences.
 */
export function sampleDecode(
  runner: DecoderRunner,
  vector: Float32Array,
  count: number,
  rng: Rng,
  options: { temperature?: number; topK?: number; maxTokens?: number; logProb?: boolean } = {},
): Hypothesis[] {
  checkVectors(runner, vector, 1);
  const { temperature = 0.8, topK = 40, maxTokens = runner.config.maxTokens, logProb = true } = options;
  const { vocab: V, dim, hidden: H } = runner.config;
  const vectors = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) vectors.set(vector, r * dim);
  let state = runner.start(vectors, count);
  const out: Hypothesis[] = Array.from({ length: count }, () => ({ ids: [], logProb: logProb ? 0 : Number.NaN }));
  /** live[r]: the hypothesis that state row r extends. */
  let live = Array.from({ length: count }, (_, r) => r);
  let tokens = new Int32Array(count).fill(BOS_ID);
  for (let t = 0; t <= maxTokens && live.length > 0; t++) {
    const logits = runner.step(state, tokens);
    maskRows(runner, logits, live.length, t === 0);
    const lse = logProb ? logSumExpRows(runner, logits, live.length) : null;
    const top = t < maxTokens ? topIdsOfRows(runner, logits, live.length, topK) : null;
    const keep: number[] = [];
    for (let r = 0; r < live.length; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      let pick = EOS_ID;
      if (top) {
        const ids = top(r);
        const weights = ids.map((i) => Math.exp((row[i] - row[ids[0]]) / temperature));
        let u = rng.next() * weights.reduce((a, b) => a + b, 0);
        pick = ids[ids.length - 1];
        for (let k = 0; k < ids.length; k++) {
          u -= weights[k];
          if (u <= 0) {
            pick = ids[k];
            break;
          }
        }
      }
      const h = out[live[r]];
      if (lse) h.logProb += row[pick] - lse[r];
      if (pick === EOS_ID) continue;
      h.ids.push(pick);
      tokens[r] = pick;
      keep.push(r);
    }
    if (keep.length < live.length && keep.length > 0) {
      state = gatherRows(state, keep, H, runner.condWidth);
      tokens = Int32Array.from(keep, (r) => tokens[r]);
    }
    live = keep.map((r) => live[r]);
  }
  return out;
}
