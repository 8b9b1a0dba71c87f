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

/** log-softmax of one row of logits, in place, with the never-text ids at -Infinity (and </s> when `noEnd`). */
function logSoftmaxRow(logits: Float32Array, offset: number, vocab: number, noEnd: boolean): Float32Array {
  const row = logits.subarray(offset, offset + vocab);
  for (let id = 0; id < FIRST_PIECE_ID; id++) if (id !== EOS_ID || noEnd) row[id] = Number.NEGATIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vocab; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - max);
  const lse = max + Math.log(sum);
  for (let i = 0; i < vocab; i++) row[i] -= lse;
  return row;
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
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      const row = logSoftmaxRow(logits, r * V, V, t === 0);
      let best = EOS_ID;
      if (t < maxTokens) for (let i = 0; i < V; i++) if (row[i] > row[best]) best = i;
      out[r].logProb += row[best];
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
    const candidates: { from: number; id: number; logProb: number }[] = [];
    for (let r = 0; r < beams.length; r++) {
      const row = logSoftmaxRow(logits, r * V, V, t === 0);
      if (t === maxTokens) {
        candidates.push({ from: r, id: EOS_ID, logProb: beams[r].logProb + row[EOS_ID] });
        continue;
      }
      for (const id of topIds(row, width)) candidates.push({ from: r, id, logProb: beams[r].logProb + row[id] });
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
  for (let i = 0; i < row.length; i++) {
    const x = row[i];
    if (x === Number.NEGATIVE_INFINITY || (top.length === k && x <= row[top[k - 1]])) continue;
    let j = top.length < k ? top.length : k - 1;
    while (j > 0 && row[top[j - 1]] < x) {
      if (j < k) top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
  }
  return top;
}

/** `count` sampled hypotheses for one vector: temperature, then the top-k pieces. */
export function sampleDecode(
  runner: DecoderRunner,
  vector: Float32Array,
  count: number,
  rng: Rng,
  options: { temperature?: number; topK?: number; maxTokens?: number } = {},
): Hypothesis[] {
  checkVectors(runner, vector, 1);
  const { temperature = 0.8, topK = 40, maxTokens = runner.config.maxTokens } = options;
  const { vocab: V, dim } = runner.config;
  const vectors = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) vectors.set(vector, r * dim);
  const state = runner.start(vectors, count);
  const out: Hypothesis[] = Array.from({ length: count }, () => ({ ids: [], logProb: 0 }));
  const done = new Uint8Array(count);
  const tokens = new Int32Array(count).fill(BOS_ID);
  for (let t = 0; t <= maxTokens && done.includes(0); t++) {
    const logits = runner.step(state, tokens);
    for (let r = 0; r < count; r++) {
      if (done[r]) continue;
      const row = logSoftmaxRow(logits, r * V, V, t === 0);
      let pick = EOS_ID;
      if (t < maxTokens) {
        const ids = topIds(row, topK);
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
      out[r].logProb += row[pick];
      if (pick === EOS_ID) done[r] = 1;
      else out[r].ids.push(pick);
      tokens[r] = pick;
    }
  }
  return out;
}
