// Dense layers. Weights are stored [out, in] (one contiguous row per output) so that every output is a
// dot product along contiguous memory; `inDim` must be a multiple of 16 (the wrapper pads).

/**
 * Per-row symmetric dynamic quantisation of activations to -levels..levels, stored plus `shift`.
 * x: f32 [rows, n] -> q: i8 [rows, n], scales: f32 [rows], with x[r, j] ~= (q[r, j] - shift) * scales[r].
 * (Codes up to 127 are the same bytes read signed or unsigned, so one narrowing serves both layouts.)
 */
@inline export function quantizeRowsTo(x: usize, rows: i32, n: i32, q: usize, scales: usize, levels: f32, shift: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>(r * n) << 2);
    let maxAbs = f32x4.splat(0);
    for (let j = 0; j < n; j += 4) maxAbs = f32x4.max(maxAbs, f32x4.abs(v128.load(row + (<usize>j << 2))));
    const m = Mathf.max(
      Mathf.max(f32x4.extract_lane(maxAbs, 0), f32x4.extract_lane(maxAbs, 1)),
      Mathf.max(f32x4.extract_lane(maxAbs, 2), f32x4.extract_lane(maxAbs, 3)),
    );
    const scale: f32 = m > 0 ? m / levels : 1;
    store<f32>(scales + (<usize>r << 2), scale);
    const inv = f32x4.splat(1 / scale);
    const s = i32x4.splat(shift);
    const out = q + <usize>(r * n);
    for (let j = 0; j < n; j += 16) {
      // f32 -> i32 (round to nearest) + shift -> i16 -> i8, 16 values at a time.
      const a = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>j << 2)), inv))), s);
      const b = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>(j + 4) << 2)), inv))), s);
      const c = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>(j + 8) << 2)), inv))), s);
      const d = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>(j + 12) << 2)), inv))), s);
      v128.store(out + <usize>j, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d)));
    }
  }
}

/** Activations to INT8 -127..127: x[r, j] ~= q[r, j] * scales[r] (the plain-SIMD linearI8's input). */
export function quantizeRows(x: usize, rows: i32, n: i32, q: usize, scales: usize): void {
  quantizeRowsTo(x, rows, n, q, scales, 127, 0);
}

@inline function hsumI32(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

@inline function hsumF32(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Sum of 16 int8 products a[0..16) * b[0..16), accumulated into acc as i32x4. */
@inline function dot16(acc: v128, aLo: v128, aHi: v128, b: v128): v128 {
  return i32x4.add(acc, i32x4.add(i32x4.dot_i16x8_s(aLo, i16x8.extend_low_i8x16_s(b)), i32x4.dot_i16x8_s(aHi, i16x8.extend_high_i8x16_s(b))));
}

/**
 * INT8 linear layer with per-output-row weight scales and per-row activation scales:
 *   y[r, o] = xs[r] * ws[o] * sum_i xq[r, i] * wq[o, i] + bias[o]
 * xq: i8 [rows, inDim], xs: f32 [rows], wq: i8 [outDim, inDim], ws: f32 [outDim], bias: f32 [outDim] or 0,
 * y: f32 [rows, outDim]. Tiles of 2 rows x 4 outputs keep 8 accumulators in registers.
 */
export function linearI8(xq: usize, xs: usize, wq: usize, ws: usize, bias: usize, y: usize, rows: i32, inDim: i32, outDim: i32): void {
  const n = <usize>inDim;
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const x0 = xq + <usize>r * n;
    const x1 = x0 + n;
    let o = 0;
    for (; o + 4 <= outDim; o += 4) {
      const w0 = wq + <usize>o * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a02 = i32x4.splat(0), a03 = i32x4.splat(0);
      let a10 = i32x4.splat(0), a11 = i32x4.splat(0), a12 = i32x4.splat(0), a13 = i32x4.splat(0);
      for (let i: usize = 0; i < n; i += 16) {
        const v0 = v128.load(x0 + i);
        const v1 = v128.load(x1 + i);
        const x0l = i16x8.extend_low_i8x16_s(v0), x0h = i16x8.extend_high_i8x16_s(v0);
        const x1l = i16x8.extend_low_i8x16_s(v1), x1h = i16x8.extend_high_i8x16_s(v1);
        let w = v128.load(w0 + i);
        a00 = dot16(a00, x0l, x0h, w);
        a10 = dot16(a10, x1l, x1h, w);
        w = v128.load(w1 + i);
        a01 = dot16(a01, x0l, x0h, w);
        a11 = dot16(a11, x1l, x1h, w);
        w = v128.load(w2 + i);
        a02 = dot16(a02, x0l, x0h, w);
        a12 = dot16(a12, x1l, x1h, w);
        w = v128.load(w3 + i);
        a03 = dot16(a03, x0l, x0h, w);
        a13 = dot16(a13, x1l, x1h, w);
      }
      const s0 = load<f32>(xs + (<usize>r << 2));
      const s1 = load<f32>(xs + (<usize>(r + 1) << 2));
      storeI8Out(y, ws, bias, r, o, outDim, s0, hsumI32(a00), hsumI32(a01), hsumI32(a02), hsumI32(a03));
      storeI8Out(y, ws, bias, r + 1, o, outDim, s1, hsumI32(a10), hsumI32(a11), hsumI32(a12), hsumI32(a13));
    }
    for (; o < outDim; o++) {
      linearI8One(xq, xs, wq, ws, bias, y, r, o, inDim, outDim);
      linearI8One(xq, xs, wq, ws, bias, y, r + 1, o, inDim, outDim);
    }
  }
  for (; r < rows; r++) {
    let o = 0;
    const x0 = xq + <usize>r * n;
    for (; o + 4 <= outDim; o += 4) {
      const w0 = wq + <usize>o * n;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let i: usize = 0; i < n; i += 16) {
        const v0 = v128.load(x0 + i);
        const xl = i16x8.extend_low_i8x16_s(v0), xh = i16x8.extend_high_i8x16_s(v0);
        a0 = dot16(a0, xl, xh, v128.load(w0 + i));
        a1 = dot16(a1, xl, xh, v128.load(w0 + n + i));
        a2 = dot16(a2, xl, xh, v128.load(w0 + 2 * n + i));
        a3 = dot16(a3, xl, xh, v128.load(w0 + 3 * n + i));
      }
      storeI8Out(y, ws, bias, r, o, outDim, load<f32>(xs + (<usize>r << 2)), hsumI32(a0), hsumI32(a1), hsumI32(a2), hsumI32(a3));
    }
    for (; o < outDim; o++) linearI8One(xq, xs, wq, ws, bias, y, r, o, inDim, outDim);
  }
}

@inline function storeI8Out(y: usize, ws: usize, bias: usize, r: i32, o: i32, outDim: i32, xs: f32, d0: i32, d1: i32, d2: i32, d3: i32): void {
  let v = f32x4.splat(<f32>d0);
  v = f32x4.replace_lane(v, 1, <f32>d1);
  v = f32x4.replace_lane(v, 2, <f32>d2);
  v = f32x4.replace_lane(v, 3, <f32>d3);
  v = f32x4.mul(f32x4.mul(v, f32x4.splat(xs)), v128.load(ws + (<usize>o << 2)));
  if (bias != 0) v = f32x4.add(v, v128.load(bias + (<usize>o << 2)));
  v128.store(y + (<usize>(r * outDim + o) << 2), v);
}

function linearI8One(xq: usize, xs: usize, wq: usize, ws: usize, bias: usize, y: usize, r: i32, o: i32, inDim: i32, outDim: i32): void {
  const x0 = xq + <usize>(r * inDim);
  const w0 = wq + <usize>(o * inDim);
  let acc = i32x4.splat(0);
  for (let i: usize = 0; i < <usize>inDim; i += 16) {
    const v = v128.load(x0 + i);
    acc = dot16(acc, i16x8.extend_low_i8x16_s(v), i16x8.extend_high_i8x16_s(v), v128.load(w0 + i));
  }
  let out = <f32>hsumI32(acc) * load<f32>(xs + (<usize>r << 2)) * load<f32>(ws + (<usize>o << 2));
  if (bias != 0) out += load<f32>(bias + (<usize>o << 2));
  store<f32>(y + (<usize>(r * outDim + o) << 2), out);
}

/**
 * f32 linear layer: y[r, o] = sum_i x[r, i] * w[o, i] + bias[o].
 * x: f32 [rows, inDim], w: f32 [outDim, inDim], bias: f32 [outDim] or 0, y: f32 [rows, outDim].
 */
export function linearF32(x: usize, w: usize, bias: usize, y: usize, rows: i32, inDim: i32, outDim: i32): void {
  const rowBytes = <usize>inDim << 2;
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const x0 = x + <usize>r * rowBytes;
    const x1 = x0 + rowBytes;
    let o = 0;
    for (; o + 4 <= outDim; o += 4) {
      const w0 = w + <usize>o * rowBytes;
      const w1 = w0 + rowBytes;
      const w2 = w1 + rowBytes;
      const w3 = w2 + rowBytes;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
      let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
      for (let i: usize = 0; i < rowBytes; i += 16) {
        const v0 = v128.load(x0 + i);
        const v1 = v128.load(x1 + i);
        let wv = v128.load(w0 + i);
        a00 = f32x4.add(a00, f32x4.mul(v0, wv));
        a10 = f32x4.add(a10, f32x4.mul(v1, wv));
        wv = v128.load(w1 + i);
        a01 = f32x4.add(a01, f32x4.mul(v0, wv));
        a11 = f32x4.add(a11, f32x4.mul(v1, wv));
        wv = v128.load(w2 + i);
        a02 = f32x4.add(a02, f32x4.mul(v0, wv));
        a12 = f32x4.add(a12, f32x4.mul(v1, wv));
        wv = v128.load(w3 + i);
        a03 = f32x4.add(a03, f32x4.mul(v0, wv));
        a13 = f32x4.add(a13, f32x4.mul(v1, wv));
      }
      storeF32Out(y, bias, r, o, outDim, hsumF32(a00), hsumF32(a01), hsumF32(a02), hsumF32(a03));
      storeF32Out(y, bias, r + 1, o, outDim, hsumF32(a10), hsumF32(a11), hsumF32(a12), hsumF32(a13));
    }
    for (; o < outDim; o++) {
      linearF32One(x, w, bias, y, r, o, inDim, outDim);
      linearF32One(x, w, bias, y, r + 1, o, inDim, outDim);
    }
  }
  for (; r < rows; r++) {
    const x0 = x + <usize>r * rowBytes;
    let o = 0;
    for (; o + 4 <= outDim; o += 4) {
      const w0 = w + <usize>o * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let i: usize = 0; i < rowBytes; i += 16) {
        const v0 = v128.load(x0 + i);
        a0 = f32x4.add(a0, f32x4.mul(v0, v128.load(w0 + i)));
        a1 = f32x4.add(a1, f32x4.mul(v0, v128.load(w0 + rowBytes + i)));
        a2 = f32x4.add(a2, f32x4.mul(v0, v128.load(w0 + 2 * rowBytes + i)));
        a3 = f32x4.add(a3, f32x4.mul(v0, v128.load(w0 + 3 * rowBytes + i)));
      }
      storeF32Out(y, bias, r, o, outDim, hsumF32(a0), hsumF32(a1), hsumF32(a2), hsumF32(a3));
    }
    for (; o < outDim; o++) linearF32One(x, w, bias, y, r, o, inDim, outDim);
  }
}

@inline function storeF32Out(y: usize, bias: usize, r: i32, o: i32, outDim: i32, d0: f32, d1: f32, d2: f32, d3: f32): void {
  const p = y + (<usize>(r * outDim + o) << 2);
  if (bias != 0) {
    const b = bias + (<usize>o << 2);
    d0 += load<f32>(b);
    d1 += load<f32>(b, 4);
    d2 += load<f32>(b, 8);
    d3 += load<f32>(b, 12);
  }
  store<f32>(p, d0);
  store<f32>(p, d1, 4);
  store<f32>(p, d2, 8);
  store<f32>(p, d3, 12);
}

function linearF32One(x: usize, w: usize, bias: usize, y: usize, r: i32, o: i32, inDim: i32, outDim: i32): void {
  const x0 = x + (<usize>(r * inDim) << 2);
  const w0 = w + (<usize>(o * inDim) << 2);
  let acc = f32x4.splat(0);
  for (let i: usize = 0; i < <usize>inDim << 2; i += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(x0 + i), v128.load(w0 + i)));
  let out = hsumF32(acc);
  if (bias != 0) out += load<f32>(bias + (<usize>o << 2));
  store<f32>(y + (<usize>(r * outDim + o) << 2), out);
}
