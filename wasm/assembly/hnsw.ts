// HNSW graph search (src/index/hnsw-format.ts holds the layout; src/core/hnsw-core.ts the wrapper). Scores are
// approximate dot products from INT8 rows or 4-bit codes with an INT8 query; the wrapper rescores in f32.
import { dotI8, heapPopTop, heapPush, heapReplaceTop } from "./topk";

/**
 * 4-bit codes . int8 query over n values (n a multiple of 32). Code byte i of a 32-value block holds value i
 * (low nibble) and value 16 + i (high nibble), each stored + 8. |products| <= 7 x 127, so four sum in i16.
 */
@inline function dotI4(a: usize, b: usize, n: usize): i32 {
  let acc = i32x4.splat(0);
  const mask = i8x16.splat(15);
  const eight = i8x16.splat(8);
  for (let i: usize = 0; i < n; i += 32) {
    const x = v128.load(a + (i >> 1));
    const lo = i8x16.sub(v128.and(x, mask), eight);
    const hi = i8x16.sub(i8x16.shr_u(x, 4), eight);
    const q0 = v128.load(b + i);
    const q1 = v128.load(b + i + 16);
    let s = i16x8.add(i16x8.extmul_low_i8x16_s(lo, q0), i16x8.extmul_high_i8x16_s(lo, q0));
    s = i16x8.add(s, i16x8.add(i16x8.extmul_low_i8x16_s(hi, q1), i16x8.extmul_high_i8x16_s(hi, q1)));
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(s));
  }
  return i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
}

// Graph descriptor: 18 u32 fields at `g`, written once by the wrapper.
const G_CODES = 0; // walk codes: int8 rows (kind 0) or 4-bit rows (kind 1)
const G_KIND = 1;
const G_SCALES = 2; // f32 per row: score = scale x integer dot
const G_DIM = 3;
const G_COUNT = 4;
const G_L0_OFFSETS = 5;
const G_L0_LINKS = 6;
const G_UPPER_START = 7;
const G_UPPER_OFFSETS = 8;
const G_UPPER_LINKS = 9;
const G_ENTRY = 10;
const G_MAX_LEVEL = 11;
const G_VISITED = 12; // bitset scratch, (count + 7) / 8 bytes
const G_CAND_SCORES = 13; // candidate heap scratch, f32 [count]
const G_CAND_ROWS = 14; // i32 [count]

@inline function field(g: usize, i: i32): usize {
  return <usize>load<u32>(g + (<usize>i << 2));
}

@inline function score(codes: usize, kind: i32, scales: usize, n: usize, query: usize, row: u32): f32 {
  const s = load<f32>(scales + (<usize>row << 2));
  if (kind == 0) return <f32>dotI8(codes + <usize>row * n, query, n) * s;
  return <f32>dotI4(codes + ((<usize>row * n) >> 1), query, n) * s;
}

/**
 * Beam search of the graph for one INT8 query (dim values): greedy descent through the upper levels, then
 * hnswlib's level-0 search with a result list of `ef`. Writes up to ef (row, approximate score) pairs to
 * outRows/outScores (a min-heap, unordered) and returns how many.
 */
export function hnswSearch(g: usize, query: usize, ef: i32, outRows: usize, outScores: usize): i32 {
  const codes = field(g, G_CODES);
  const kind = <i32>field(g, G_KIND);
  const scales = field(g, G_SCALES);
  const n = field(g, G_DIM);
  const count = <i32>field(g, G_COUNT);
  if (count == 0 || ef <= 0) return 0;
  const l0Offsets = field(g, G_L0_OFFSETS);
  const l0Links = field(g, G_L0_LINKS);
  const upperStart = field(g, G_UPPER_START);
  const upperOffsets = field(g, G_UPPER_OFFSETS);
  const upperLinks = field(g, G_UPPER_LINKS);
  const visited = field(g, G_VISITED);
  const candScores = field(g, G_CAND_SCORES);
  const candRows = field(g, G_CAND_ROWS);

  let cur = <u32>field(g, G_ENTRY);
  let curScore = score(codes, kind, scales, n, query, cur);
  for (let level = <i32>field(g, G_MAX_LEVEL); level >= 1; level--) {
    let changed = true;
    while (changed) {
      changed = false;
      const s = <usize>load<u32>(upperStart + (<usize>cur << 2)) + <usize>(level - 1);
      const from = <usize>load<u32>(upperOffsets + (s << 2));
      const to = <usize>load<u32>(upperOffsets + ((s + 1) << 2));
      for (let j = from; j < to; j++) {
        const t = load<u32>(upperLinks + (j << 2));
        const sc = score(codes, kind, scales, n, query, t);
        if (sc > curScore) {
          curScore = sc;
          cur = t;
          changed = true;
        }
      }
    }
  }

  memory.fill(visited, 0, (<usize>count + 7) >> 3);
  store<u8>(visited + (<usize>cur >> 3), load<u8>(visited + (<usize>cur >> 3)) | (<u8>1 << <u8>(cur & 7)));
  // Candidates: a min-heap on -score, so its top is the best unexpanded node.
  let cands = 0;
  heapPush(candScores, candRows, cands++, -curScore, <i32>cur);
  let size = 0;
  heapPush(outScores, outRows, size++, curScore, <i32>cur);
  while (cands > 0) {
    const c = <u32>load<i32>(candRows);
    const cs = -load<f32>(candScores);
    if (size == ef && cs < load<f32>(outScores)) break;
    cands = heapPopTop(candScores, candRows, cands);
    const from = <usize>load<u32>(l0Offsets + (<usize>c << 2));
    const to = <usize>load<u32>(l0Offsets + ((<usize>c + 1) << 2));
    for (let j = from; j < to; j++) {
      const t = load<u32>(l0Links + (j << 2));
      const byte = visited + (<usize>t >> 3);
      const bit = <u8>1 << <u8>(t & 7);
      const seen = load<u8>(byte);
      if (seen & bit) continue;
      store<u8>(byte, seen | bit);
      const sc = score(codes, kind, scales, n, query, t);
      if (size < ef) {
        heapPush(candScores, candRows, cands++, -sc, <i32>t);
        heapPush(outScores, outRows, size++, sc, <i32>t);
      } else if (sc > load<f32>(outScores)) {
        heapPush(candScores, candRows, cands++, -sc, <i32>t);
        heapReplaceTop(outScores, outRows, size, sc, <i32>t);
      }
    }
  }
  return size;
}
