// INT8 dense layer on weights packed once at load for a register-blocked kernel (plain SIMD; the relaxed
// build has its own packing in packed-relaxed.ts). Each v128 of weights holds 4 outputs x 4 inputs, so one
// load feeds every activation row of a tile and each i32x4 accumulator holds 4 finished outputs: no
// horizontal sums. Tiles are 4 activation rows x 8 outputs (8 accumulators); 1 row x 16 outputs for the
// remaining rows (batch 1's recurrent step).
//
// Packed layout ("panels"): outPad = outDim rounded up to 8, kg = inDim / 4 (inDim a multiple of 4).
// Panel p (outputs 8p..8p+7) is kg groups of 32 bytes; group g (inputs 4g..4g+3) is two 16-byte halves
// h = 0, 1 (outputs 8p+4h+j, j = 0..3), and within a half
//   byte 2j + t     = w[8p + 4h + j, 4g + t]       (t = 0, 1)
//   byte 8 + 2j + t = w[8p + 4h + j, 4g + 2 + t]
// so i16x8.extend_low/high give [o0 k0, o0 k1, o1 k0, ...] for i32x4.dot_i16x8_s against a splatted pair of
// i16 activations. Padding outputs are 0. Total bytes: packedI8Bytes(outDim, inDim) = outPad * inDim.
// Activations are i16 codes -127..127 [rows, inDim] (quantizeRowsI16), so a 4-byte splat is one input pair.

/** Bytes of the plain-SIMD packed weights of an [outDim, inDim] layer. */
export function packedI8Bytes(outDim: i32, inDim: i32): i32 {
  return ((outDim + 7) & ~7) * inDim;
}

/** wq: i8 [outDim, inDim] (one row per output) -> packed: i8 [packedI8Bytes] in the layout above. */
export function packI8(wq: usize, outDim: i32, inDim: i32, packed: usize): void {
  const kg = inDim >> 2;
  const panels = (outDim + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    for (let g = 0; g < kg; g++) {
      const dst = packed + ((<usize>(p * kg + g)) << 5);
      for (let h = 0; h < 2; h++) {
        for (let j = 0; j < 4; j++) {
          const o = 8 * p + 4 * h + j;
          for (let t = 0; t < 4; t++) {
            const v: i8 = o < outDim ? load<i8>(wq + <usize>(o * inDim + 4 * g + t)) : 0;
            store<i8>(dst + <usize>(16 * h + (t < 2 ? 2 * j + t : 8 + 2 * j + t - 2)), v);
          }
        }
      }
    }
  }
}

/** Per-row symmetric quantisation to i16 codes -127..127: x[r, j] ~= q[r, j] * scales[r]. n a multiple of 16. */
export function quantizeRowsI16(x: usize, rows: i32, n: i32, q: usize, scales: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * n) << 2);
    let maxAbs = f32x4.splat(0);
    for (let j = 0; j < n; j += 4) maxAbs = f32x4.max(maxAbs, f32x4.abs(v128.load(row + (<usize>j << 2))));
    const m = Mathf.max(
      Mathf.max(f32x4.extract_lane(maxAbs, 0), f32x4.extract_lane(maxAbs, 1)),
      Mathf.max(f32x4.extract_lane(maxAbs, 2), f32x4.extract_lane(maxAbs, 3)),
    );
    const scale: f32 = m > 0 ? m / 127 : 1;
    store<f32>(scales + (<usize>r << 2), scale);
    const inv = f32x4.splat(1 / scale);
    const out = q + (<usize>(r * n) << 1);
    for (let j = 0; j < n; j += 8) {
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>j << 2)), inv)));
      const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>(j + 4) << 2)), inv)));
      v128.store(out + (<usize>j << 1), i16x8.narrow_i32x4_s(a, b));
    }
  }
}

/** acc + the 4 outputs of one weight half (k0k1 in lo, k2k3 in hi) times the input pairs xa, xb. */
@inline function dot4(acc: v128, lo: v128, hi: v128, xa: v128, xb: v128): v128 {
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(lo, xa), i32x4.dot_i16x8_s(hi, xb)));
}

/**
 * Writes 4 outputs o..o+3 of row r: y = xs[r] * ws[o] * acc + bias[o], only those below outDim.
 * Shared with packed-relaxed.ts (which passes the u7 correction already subtracted).
 */
@inline export function storeOut4(y: usize, xs: usize, ws: usize, bias: usize, r: i32, o: i32, outDim: i32, acc: v128): void {
  const sx = load<f32>(xs + (<usize>r << 2));
  const dst = y + (<usize>(r * outDim + o) << 2);
  if (o + 4 <= outDim) {
    let v = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(acc), f32x4.splat(sx)), v128.load(ws + (<usize>o << 2)));
    if (bias != 0) v = f32x4.add(v, v128.load(bias + (<usize>o << 2)));
    v128.store(dst, v);
  } else {
    storeTail(dst, ws, bias, o, outDim, sx, acc);
  }
}

function storeTail(dst: usize, ws: usize, bias: usize, o: i32, outDim: i32, sx: f32, acc: v128): void {
  for (let j = 0; j < 4 && o + j < outDim; j++) {
    const d = j == 0 ? i32x4.extract_lane(acc, 0) : j == 1 ? i32x4.extract_lane(acc, 1) : j == 2 ? i32x4.extract_lane(acc, 2) : i32x4.extract_lane(acc, 3);
    const po = <usize>(o + j) << 2;
    let v = <f32>d * sx * load<f32>(ws + po);
    if (bias != 0) v += load<f32>(bias + po);
    store<f32>(dst + (<usize>j << 2), v);
  }
}

/**
 * y[r, o] = xs[r] * ws[o] * sum_i xq[r, i] * w[o, i] + bias[o], exact in i32 before the scales.
 * xq: i16 [rows, inDim] (quantizeRowsI16), xs: f32 [rows], packed: packI8 of w: i8 [outDim, inDim],
 * ws: f32 [outDim], bias: f32 [outDim] or 0, y: f32 [rows, outDim]. inDim a multiple of 4.
 */
export function linearI8Packed(xq: usize, xs: usize, packed: usize, ws: usize, bias: usize, y: usize, rows: i32, inDim: i32, outDim: i32): void {
  const xBytes = <usize>inDim << 1;
  const panelBytes = <usize>inDim << 3;
  const panels = (outDim + 7) >> 3;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = xq + <usize>r * xBytes;
    const x1 = x0 + xBytes;
    const x2 = x1 + xBytes;
    const x3 = x2 + xBytes;
    for (let p = 0; p < panels; p++) {
      let w = packed + <usize>p * panelBytes;
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
      let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
      for (let i: usize = 0; i < xBytes; i += 8) {
        const w0 = v128.load(w);
        const w1 = v128.load(w, 16);
        w += 32;
        const w0l = i16x8.extend_low_i8x16_s(w0), w0h = i16x8.extend_high_i8x16_s(w0);
        const w1l = i16x8.extend_low_i8x16_s(w1), w1h = i16x8.extend_high_i8x16_s(w1);
        let xa = v128.load32_splat(x0 + i), xb = v128.load32_splat(x0 + i, 4);
        a00 = dot4(a00, w0l, w0h, xa, xb);
        a01 = dot4(a01, w1l, w1h, xa, xb);
        xa = v128.load32_splat(x1 + i);
        xb = v128.load32_splat(x1 + i, 4);
        a10 = dot4(a10, w0l, w0h, xa, xb);
        a11 = dot4(a11, w1l, w1h, xa, xb);
        xa = v128.load32_splat(x2 + i);
        xb = v128.load32_splat(x2 + i, 4);
        a20 = dot4(a20, w0l, w0h, xa, xb);
        a21 = dot4(a21, w1l, w1h, xa, xb);
        xa = v128.load32_splat(x3 + i);
        xb = v128.load32_splat(x3 + i, 4);
        a30 = dot4(a30, w0l, w0h, xa, xb);
        a31 = dot4(a31, w1l, w1h, xa, xb);
      }
      const o = p << 3;
      storeOut4(y, xs, ws, bias, r, o, outDim, a00);
      storeOut4(y, xs, ws, bias, r, o + 4, outDim, a01);
      storeOut4(y, xs, ws, bias, r + 1, o, outDim, a10);
      storeOut4(y, xs, ws, bias, r + 1, o + 4, outDim, a11);
      storeOut4(y, xs, ws, bias, r + 2, o, outDim, a20);
      storeOut4(y, xs, ws, bias, r + 2, o + 4, outDim, a21);
      storeOut4(y, xs, ws, bias, r + 3, o, outDim, a30);
      storeOut4(y, xs, ws, bias, r + 3, o + 4, outDim, a31);
    }
  }
  // Remaining rows: 1 row x 2 panels (16 outputs), then a last single panel.
  for (; r < rows; r++) {
    const x0 = xq + <usize>r * xBytes;
    let p = 0;
    for (; p + 2 <= panels; p += 2) {
      let w = packed + <usize>p * panelBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let i: usize = 0; i < xBytes; i += 8) {
        const xa = v128.load32_splat(x0 + i), xb = v128.load32_splat(x0 + i, 4);
        const w0 = v128.load(w), w1 = v128.load(w, 16);
        const w2 = v128.load(w + panelBytes), w3 = v128.load(w + panelBytes, 16);
        w += 32;
        a0 = dot4(a0, i16x8.extend_low_i8x16_s(w0), i16x8.extend_high_i8x16_s(w0), xa, xb);
        a1 = dot4(a1, i16x8.extend_low_i8x16_s(w1), i16x8.extend_high_i8x16_s(w1), xa, xb);
        a2 = dot4(a2, i16x8.extend_low_i8x16_s(w2), i16x8.extend_high_i8x16_s(w2), xa, xb);
        a3 = dot4(a3, i16x8.extend_low_i8x16_s(w3), i16x8.extend_high_i8x16_s(w3), xa, xb);
      }
      const o = p << 3;
      storeOut4(y, xs, ws, bias, r, o, outDim, a0);
      storeOut4(y, xs, ws, bias, r, o + 4, outDim, a1);
      storeOut4(y, xs, ws, bias, r, o + 8, outDim, a2);
      storeOut4(y, xs, ws, bias, r, o + 12, outDim, a3);
    }
    for (; p < panels; p++) {
      let w = packed + <usize>p * panelBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
      for (let i: usize = 0; i < xBytes; i += 8) {
        const xa = v128.load32_splat(x0 + i), xb = v128.load32_splat(x0 + i, 4);
        const w0 = v128.load(w), w1 = v128.load(w, 16);
        w += 32;
        a0 = dot4(a0, i16x8.extend_low_i8x16_s(w0), i16x8.extend_high_i8x16_s(w0), xa, xb);
        a1 = dot4(a1, i16x8.extend_low_i8x16_s(w1), i16x8.extend_high_i8x16_s(w1), xa, xb);
      }
      const o = p << 3;
      storeOut4(y, xs, ws, bias, r, o, outDim, a0);
      storeOut4(y, xs, ws, bias, r, o + 4, outDim, a1);
    }
  }
}
