// Teacher-forcing batches from a sentence set (runtime-agnostic): <s> + ids as inputs, ids + </s> as targets.
import type { Rng } from "../lvm/rng.ts";
import { shuffle } from "../lvm/rng.ts";
import { type SentenceSet, sentenceIds } from "./dataset-format.ts";
import { BOS_ID, EOS_ID } from "./text.ts";
import type { DecoderBatch } from "./tf-decoder.ts";

/** Sentences `rows` of `set` as one batch padded to the longest (+1 for </s>), time-major. */
export function makeBatch(set: SentenceSet, rows: ArrayLike<number>): DecoderBatch {
  const B = rows.length;
  const { dim } = set;
  let T = 0;
  for (let b = 0; b < B; b++) T = Math.max(T, set.offsets[rows[b] + 1] - set.offsets[rows[b]] + 1);
  const vectors = new Float32Array(B * dim);
  const inputs = new Int32Array(T * B);
  const targets = new Int32Array(T * B);
  const mask = new Float32Array(T * B);
  for (let b = 0; b < B; b++) {
    const i = rows[b];
    vectors.set(set.vectors.subarray(i * dim, (i + 1) * dim), b * dim);
    const ids = sentenceIds(set, i);
    for (let t = 0; t < T; t++) {
      inputs[t * B + b] = t === 0 ? BOS_ID : t <= ids.length ? ids[t - 1] : EOS_ID;
      if (t < ids.length) targets[t * B + b] = ids[t];
      else if (t === ids.length) targets[t * B + b] = EOS_ID;
      else targets[t * B + b] = EOS_ID;
      mask[t * B + b] = t <= ids.length ? 1 : 0;
    }
  }
  return { batch: B, steps: T, vectors, inputs, targets, mask };
}

/**
 * One epoch's batches: sentences shuffled, cut into pools of 32 batches, each pool sorted by length and cut into
 * batches (little padding), batch order shuffled. Only whole batches.
 */
export function epochBatches(sentences: Int32Array, batchSize: number, set: SentenceSet, rng: Rng): Int32Array[] {
  const order = Int32Array.from(sentences);
  shuffle(order, rng);
  const batches: Int32Array[] = [];
  const pool = batchSize * 32;
  const length = (i: number) => set.offsets[i + 1] - set.offsets[i];
  for (let p = 0; p + batchSize <= order.length; p += pool) {
    const chunk = Array.from(order.subarray(p, Math.min(order.length, p + pool))).sort((a, b) => length(a) - length(b));
    for (let b = 0; b + batchSize <= chunk.length; b += batchSize) batches.push(Int32Array.from(chunk.slice(b, b + batchSize)));
  }
  const idx = batches.map((_, i) => i);
  shuffle(idx, rng);
  return idx.map((i) => batches[i]);
}
