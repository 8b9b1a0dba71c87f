// Exact top-k over INT8 concept vectors (approximate scores; the wrapper rescores the short list in f32).
import { dotI8, heapPush, heapReplaceTop } from "./topk";

/**
 * Top-k rows by approximate dot product score[r] = rowScales[r] * (vectors[r] . query), for `queries`
 * queries at once (each row is read once for all of them).
 * vectors: i8 [count, dim], rowScales: f32 [count], query: i8 [queries, dim],
 * outRows: i32 [queries, k], outScores: f32 [queries, k] (unordered heaps). Returns the hits kept per query.
 */
export function searchI8(vectors: usize, rowScales: usize, count: i32, dim: i32, query: usize, queries: i32, k: i32, outRows: usize, outScores: usize): i32 {
  const n = <usize>dim;
  const size = k < count ? k : count;
  for (let row = 0; row < count; row++) {
    const v = vectors + <usize>row * n;
    const scale = load<f32>(rowScales + (<usize>row << 2));
    for (let qi = 0; qi < queries; qi++) {
      const score = <f32>dotI8(v, query + <usize>qi * n, n) * scale;
      const hs = outScores + ((<usize>(qi * k)) << 2);
      const hr = outRows + ((<usize>(qi * k)) << 2);
      if (row < size) heapPush(hs, hr, row, score, row);
      else if (score > load<f32>(hs)) heapReplaceTop(hs, hr, size, score, row);
    }
  }
  return size;
}

/** 64 * sum of each int8 row (for the relaxed-SIMD scan's u7 shift). vectors: i8 [count, dim] -> out: i32 [count]. */
export function rowSumsI8(vectors: usize, count: i32, dim: i32, out: usize): void {
  const n = <usize>dim;
  for (let row = 0; row < count; row++) {
    const v = vectors + <usize>row * n;
    let acc = i32x4.splat(0);
    for (let i: usize = 0; i < n; i += 16) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(v + i))));
    const s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    store<i32>(out + (<usize>row << 2), 64 * s);
  }
}

/** The k best of `count` scores as an unordered heap in outRows/outScores; returns how many were kept. */
export function selectTopK(scores: usize, count: i32, k: i32, outRows: usize, outScores: usize): i32 {
  const size = k < count ? k : count;
  for (let row = 0; row < count; row++) {
    const score = load<f32>(scores + (<usize>row << 2));
    if (row < size) heapPush(outScores, outRows, row, score, row);
    else if (score > load<f32>(outScores)) heapReplaceTop(outScores, outRows, size, score, row);
  }
  return size;
}
