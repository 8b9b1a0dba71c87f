/**
 * What the decoding algorithms (decode.ts) need of a decoder implementation: a start state per vector, and one
 * step of token ids -> logits. The reference (reference.ts) and the WASM core (core-decoder.ts) implement it.
 * States are host arrays of `rows` rows so that beam search can reorder them (gatherRows).
 */
import type { DecoderConfig } from "./model-format.ts";

export interface DecoderState {
  rows: number;
  /** Hidden state [rows, hidden]. */
  h: Float32Array;
  /** Per-row conditioning, [rows, condWidth]: what the implementation keeps of the vector (raw or projected). */
  cond: Float32Array;
}

export interface DecoderRunner {
  readonly config: DecoderConfig;
  readonly condWidth: number;
  /** vectors [rows, dim] -> the state before the first token. */
  start(vectors: Float32Array, rows: number): DecoderState;
  /** Feeds tokens [rows] (the previous token, <s> first), updates state.h in place, returns logits [rows, vocab]. */
  step(state: DecoderState, tokens: ArrayLike<number>): Float32Array;
  /**
   * Optional: the log-sum-exp of each row of `logits` [rows, vocab] (as step returned them, some ids masked to
   * -Infinity). The core runs a SIMD kernel; without it decode.ts sums in JS.
   */
  logSumExpRows?(logits: Float32Array, rows: number): Float32Array;
  /**
   * Optional: the ids of the `k` highest logits of each row, best first, ties to the lower id, -Infinity never
   * ([rows, k], -1 past a row's finite values): decode.ts's topIds per row, which it runs without this.
   */
  topIdsRows?(logits: Float32Array, rows: number, k: number): Int32Array;
}

/** A new state holding rows `from[i]` of `state`, in that order. */
export function gatherRows(state: DecoderState, from: ArrayLike<number>, hidden: number, condWidth: number): DecoderState {
  const rows = from.length;
  const h = new Float32Array(rows * hidden);
  const cond = new Float32Array(rows * condWidth);
  for (let i = 0; i < rows; i++) {
    h.set(state.h.subarray(from[i] * hidden, (from[i] + 1) * hidden), i * hidden);
    cond.set(state.cond.subarray(from[i] * condWidth, (from[i] + 1) * condWidth), i * condWidth);
  }
  return { rows, h, cond };
}
