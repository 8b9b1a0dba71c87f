// INT8 dense layer on packed weights, relaxed SIMD (core-relaxed.wasm only): the register-blocked kernel
// of packed.ts with i32x4.relaxed_dot_i8x16_i7x16_add_s, 16 MACs per instruction. Activations are u7
// (quantizeRowsU7: -63..63 stored +64); the shift is removed with 64 * sum(w) per output, kept after the
// weights in the packed buffer. Tiles are 4 activation rows x 8 outputs; 1 row x 16 outputs for the rest.
//
// Packed layout: outPad = outDim rounded up to 8, kg = inDim / 4 (inDim a multiple of 4). Panel p
// (outputs 8p..8p+7) is kg groups of 32 bytes; group g (inputs 4g..4g+3) holds
//   byte 16h + 4j + t = w[8p + 4h + j, 4g + t]      (h = 0, 1; j, t = 0..3; 0 past outDim)
// so one v128 is 4 outputs x 4 inputs and a dot against 4 splatted u7 activations adds 4 outputs' partial
// sums. Then wsum64: i32 [outPad] = 64 * sum_i w[o, i]. Total bytes: packedI8U7Bytes(outDim, inDim).
import { storeOut4 } from "./packed";

/** Bytes of the relaxed packed weights (+ wsum64) of an [outDim, inDim] layer. */
export function packedI8U7Bytes(outDim: i32, inDim: i32): i32 {
  const outPad = (outDim + 7) & ~7;
  return outPad * inDim + (outPad << 2);
}

/** wq: i8 [outDim, inDim] (one row per output) -> packed: [packedI8U7Bytes] in the layout above. */
export function packI8U7(wq: usize, outDim: i32, inDim: i32, packed: usize): void {
  const kg = inDim >> 2;
  const outPad = (outDim + 7) & ~7;
  const wsum = packed + <usize>(outPad * inDim);
  for (let o = 0; o < outPad; o++) {
    const p = o >> 3;
    const h = (o >> 2) & 1;
    const j = o & 3;
    let sum = 0;
    for (let g = 0; g < kg; g++) {
      for (let t = 0; t < 4; t++) {
        const v: i32 = o < outDim ? <i32>load<i8>(wq + <usize>(o * inDim + 4 * g + t)) : 0;
        sum += v;
        store<i8>(packed + ((<usize>(p * kg + g)) << 5) + <usize>(16 * h + 4 * j + t), <i8>v);
      }
    }
    store<i32>(wsum + (<usize>o << 2), 64 * sum);
  }
}

@inline function dot(acc: v128, w: v128, x: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x, acc);
}

@inline function out4(y: usize, xs: usize, ws: usize, wsum: usize, bias: usize, r: i32, o: i32, outDim: i32, acc: v128): void {
  storeOut4(y, xs, ws, bias, r, o, outDim, i32x4.sub(acc, v128.load(wsum + (<usize>o << 2))));
}

/**
 * y[r, o] = xs[r] * ws[o] * (sum_i xq[r, i] * w[o, i] - wsum64[o]) + bias[o], exact in i32 before the scales.
 * xq: u7 [rows, inDim] (quantizeRowsU7), xs: f32 [rows], packed: packI8U7 of w: i8 [outDim, inDim],
 * ws: f32 [outDim], bias: f32 [outDim] or 0, y: f32 [rows, outDim]. inDim a multiple of 4.
 */
export function linearI8U7Packed(xq: usize, xs: usize, packed: usize, ws: usize, bias: usize, y: usize, rows: i32, inDim: i32, outDim: i32): void {
  const n = <usize>inDim;
  const panelBytes = n << 3;
  const panels = (outDim + 7) >> 3;
  const wsum = packed + <usize>panels * panelBytes;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const x0 = xq + <usize>r * n;
    const x1 = x0 + n;
    const x2 = x1 + n;
    const x3 = x2 + n;
    for (let p = 0; p < panels; p++) {
      let w = packed + <usize>p * panelBytes;
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
      let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
      for (let i: usize = 0; i < n; i += 4) {
        const w0 = v128.load(w);
        const w1 = v128.load(w, 16);
        w += 32;
        let x = v128.load32_splat(x0 + i);
        a00 = dot(a00, w0, x);
        a01 = dot(a01, w1, x);
        x = v128.load32_splat(x1 + i);
        a10 = dot(a10, w0, x);
        a11 = dot(a11, w1, x);
        x = v128.load32_splat(x2 + i);
        a20 = dot(a20, w0, x);
        a21 = dot(a21, w1, x);
        x = v128.load32_splat(x3 + i);
        a30 = dot(a30, w0, x);
        a31 = dot(a31, w1, x);
      }
      const o = p << 3;
      out4(y, xs, ws, wsum, bias, r, o, outDim, a00);
      out4(y, xs, ws, wsum, bias, r, o + 4, outDim, a01);
      out4(y, xs, ws, wsum, bias, r + 1, o, outDim, a10);
      out4(y, xs, ws, wsum, bias, r + 1, o + 4, outDim, a11);
      out4(y, xs, ws, wsum, bias, r + 2, o, outDim, a20);
      out4(y, xs, ws, wsum, bias, r + 2, o + 4, outDim, a21);
      out4(y, xs, ws, wsum, bias, r + 3, o, outDim, a30);
      out4(y, xs, ws, wsum, bias, r + 3, o + 4, outDim, a31);
    }
  }
  // Remaining rows (batch 1's recurrent step lands here): 1 row x 2 panels, then a last single panel.
  for (; r < rows; r++) {
    const x0 = xq + <usize>r * n;
    let p = 0;
    for (; p + 2 <= panels; p += 2) {
      let w = packed + <usize>p * panelBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let i: usize = 0; i < n; i += 4) {
        const x = v128.load32_splat(x0 + i);
        a0 = dot(a0, v128.load(w), x);
        a1 = dot(a1, v128.load(w, 16), x);
        a2 = dot(a2, v128.load(w + panelBytes), x);
        a3 = dot(a3, v128.load(w + panelBytes, 16), x);
        w += 32;
      }
      const o = p << 3;
      out4(y, xs, ws, wsum, bias, r, o, outDim, a0);
      out4(y, xs, ws, wsum, bias, r, o + 4, outDim, a1);
      out4(y, xs, ws, wsum, bias, r, o + 8, outDim, a2);
      out4(y, xs, ws, wsum, bias, r, o + 12, outDim, a3);
    }
    for (; p < panels; p++) {
      let w = packed + <usize>p * panelBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
      for (let i: usize = 0; i < n; i += 4) {
        const x = v128.load32_splat(x0 + i);
        a0 = dot(a0, v128.load(w), x);
        a1 = dot(a1, v128.load(w, 16), x);
        w += 32;
      }
      const o = p << 3;
      out4(y, xs, ws, wsum, bias, r, o, outDim, a0);
      out4(y, xs, ws, wsum, bias, r, o + 4, outDim, a1);
    }
  }
}
