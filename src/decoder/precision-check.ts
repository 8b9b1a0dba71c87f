// INT8 against f32 on the core (and f32 against the reference) for a trained decoder: greedy pieces on held-out
// vectors, and each runner's greedy speed one vector at a time (runtime-agnostic; `lvm eval-decoder --int8-check`).
import { type SentenceSet, sentenceCount } from "./dataset-format.ts";
import { greedyDecode } from "./decode.ts";
import { conditioning } from "./model-format.ts";
import type { DecoderRunner } from "./runner.ts";

export interface PrecisionCheck {
  vectors: number;
  /** Share of vectors whose INT8 greedy pieces equal f32's. */
  int8EqualsF32: number;
  /** Share of f32's pieces inside the prefix INT8 shares with it (INT8 flips a near tie, then the texts part). */
  sharedPrefix: number;
  /** Share of the first (up to 20) vectors whose f32 core greedy pieces equal the float64 reference's. */
  f32EqualsReference: number;
  referenceVectors: number;
  int8PiecesPerSecond: number;
  f32PiecesPerSecond: number;
}

export function precisionCheck(
  runners: { int8: DecoderRunner; f32: DecoderRunner; reference: DecoderRunner },
  set: SentenceSet,
  count: number,
): PrecisionCheck {
  const n = Math.min(count, sentenceCount(set));
  const total = sentenceCount(set);
  const dim = set.dim;
  let same = 0;
  let prefix = 0;
  let pieces = 0;
  let refSame = 0;
  let refCount = 0;
  const time = { int8: 0, f32: 0 };
  const tokens = { int8: 0, f32: 0 };
  for (let k = 0; k < n; k++) {
    const i = Math.floor((k * total) / n);
    const v = conditioning(runners.int8.config, set.vectors.slice(i * dim, (i + 1) * dim));
    let t = performance.now();
    const a = greedyDecode(runners.int8, v, 1)[0].ids;
    time.int8 += performance.now() - t;
    t = performance.now();
    const b = greedyDecode(runners.f32, v, 1)[0].ids;
    time.f32 += performance.now() - t;
    tokens.int8 += a.length + 1;
    tokens.f32 += b.length + 1;
    if (a.join() === b.join()) same++;
    let p = 0;
    while (p < a.length && p < b.length && a[p] === b[p]) p++;
    prefix += p;
    pieces += b.length;
    if (k < 20) {
      refCount++;
      if (greedyDecode(runners.reference, v, 1)[0].ids.join() === b.join()) refSame++;
    }
  }
  return {
    vectors: n,
    int8EqualsF32: same / n,
    sharedPrefix: prefix / Math.max(pieces, 1),
    f32EqualsReference: refSame / Math.max(refCount, 1),
    referenceVectors: refCount,
    int8PiecesPerSecond: tokens.int8 / (time.int8 / 1000),
    f32PiecesPerSecond: tokens.f32 / (time.f32 / 1000),
  };
}
