// Shared by the exact scan (search.ts) and the graph walk (hnsw.ts): the INT8 dot product and a min-heap of
// (score, row) pairs kept in two parallel arrays.

/** int8 . int8 over n values (n a multiple of 16): |products| <= 127^2, so a pair sums in i16. */
@inline export function dotI8(a: usize, b: usize, n: usize): i32 {
  let acc = i32x4.splat(0);
  for (let i: usize = 0; i < n; i += 16) {
    const x = v128.load(a + i);
    const y = v128.load(b + i);
    const pairs = i16x8.add(i16x8.extmul_low_i8x16_s(x, y), i16x8.extmul_high_i8x16_s(x, y));
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(pairs));
  }
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

/** Min-heap of (score, row) in two parallel arrays; [0] is the lowest score (ties: the higher row). */
@inline function worse(scores: usize, rows: usize, i: i32, j: i32): bool {
  const si = load<f32>(scores + (<usize>i << 2));
  const sj = load<f32>(scores + (<usize>j << 2));
  return si < sj || (si == sj && load<i32>(rows + (<usize>i << 2)) > load<i32>(rows + (<usize>j << 2)));
}

@inline function swap(scores: usize, rows: usize, i: i32, j: i32): void {
  const pi = <usize>i << 2;
  const pj = <usize>j << 2;
  const s = load<f32>(scores + pi);
  store<f32>(scores + pi, load<f32>(scores + pj));
  store<f32>(scores + pj, s);
  const r = load<i32>(rows + pi);
  store<i32>(rows + pi, load<i32>(rows + pj));
  store<i32>(rows + pj, r);
}

export function heapPush(scores: usize, rows: usize, size: i32, score: f32, row: i32): void {
  store<f32>(scores + (<usize>size << 2), score);
  store<i32>(rows + (<usize>size << 2), row);
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!worse(scores, rows, i, parent)) break;
    swap(scores, rows, i, parent);
    i = parent;
  }
}

export function heapSiftDown(scores: usize, rows: usize, size: i32): void {
  let i = 0;
  while (true) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < size && worse(scores, rows, l, m)) m = l;
    if (r < size && worse(scores, rows, r, m)) m = r;
    if (m == i) break;
    swap(scores, rows, i, m);
    i = m;
  }
}

/** Replaces the top (lowest) entry and restores the heap. */
export function heapReplaceTop(scores: usize, rows: usize, size: i32, score: f32, row: i32): void {
  store<f32>(scores, score);
  store<i32>(rows, row);
  heapSiftDown(scores, rows, size);
}

/** Removes the top entry; returns the new size. */
export function heapPopTop(scores: usize, rows: usize, size: i32): i32 {
  const last = size - 1;
  store<f32>(scores, load<f32>(scores + (<usize>last << 2)));
  store<i32>(rows, load<i32>(rows + (<usize>last << 2)));
  heapSiftDown(scores, rows, last);
  return last;
}


/**
 * The decoder's candidate pieces: for each row of x [rows, n] (f32 logits), the ids of its k highest values, best
 * first, into out: i32 [rows, k]; ties keep the lower id first; -Infinity and NaN are never kept, and a row with
 * fewer than k other values ends in -1. src/decoder/decode.ts's topIds is the reference. Four values at a time are
 * compared with the k-th best so far: most of 8k logits cost one SIMD compare, where the JS scan paid a
 * comparison per value (topIds was 5% of a refined decode; `node --cpu-prof`, docs/decoder.md).
 */
export function topKRows(x: usize, rows: i32, n: i32, k: i32, out: usize): void {
  const bytes = <usize>n << 2;
  const simdBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * bytes;
    const o = out + ((<usize>(r * k)) << 2);
    let count = 0;
    let floor: f32 = -Infinity;
    let floorV = f32x4.splat(floor);
    for (let i: usize = 0; i < bytes; i += 4) {
      // At a 16-byte boundary, skip four values at once when none beats the floor.
      if ((i & 15) == 0 && i < simdBytes && !v128.any_true(f32x4.gt(v128.load(xr + i), floorV))) {
        i += 12;
        continue;
      }
      const value = load<f32>(xr + i);
      if (!(value > floor)) continue;
      // Insert into the sorted list o[0..count): shift the lower values down one place (the k-th drops out).
      let j = count < k ? count : k - 1;
      while (j > 0 && load<f32>(xr + (<usize>load<i32>(o + (<usize>(j - 1) << 2)) << 2)) < value) {
        store<i32>(o + (<usize>j << 2), load<i32>(o + (<usize>(j - 1) << 2)));
        j--;
      }
      store<i32>(o + (<usize>j << 2), <i32>(i >> 2));
      if (count < k) count++;
      if (count == k) {
        floor = load<f32>(xr + (<usize>load<i32>(o + (<usize>(k - 1) << 2)) << 2));
        floorV = f32x4.splat(floor);
      }
    }
    for (let j = count; j < k; j++) store<i32>(o + (<usize>j << 2), -1);
  }
}
