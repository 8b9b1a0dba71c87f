// The pieces of the USE-lite sentence encoder that the LVM kernels do not cover (its dense layers run on
// linear.ts / relaxed.ts). Texts are packed: the tokens of a batch are consecutive rows, text s owning rows
// offsets[s] .. offsets[s + 1] (offsets: i32 [seqs + 1]), so no row is padding. Row-major f32 unless noted;
// widths are multiples of 4. Reference: src/encoders/use-lite-reference.ts.
import { expF32x4 } from "./nn";

/**
 * Token embedding plus timing signal, f32 table: out[t, :] = table[ids[t], :] + timing[t - offsets[s], :]
 * ids: i32 [T], table: f32 [vocab, dim], timing: f32 [maxLen, dim], out: f32 [T, dim].
 */
export function embedTokensF32(ids: usize, offsets: usize, seqs: i32, table: usize, timing: usize, out: usize, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let s = 0; s < seqs; s++) {
    const start = load<i32>(offsets + (<usize>s << 2));
    const end = load<i32>(offsets + (<usize>(s + 1) << 2));
    for (let t = start; t < end; t++) {
      const e = table + <usize>load<i32>(ids + (<usize>t << 2)) * rowBytes;
      const p = timing + <usize>(t - start) * rowBytes;
      const o = out + <usize>t * rowBytes;
      for (let j: usize = 0; j < rowBytes; j += 16) v128.store(o + j, f32x4.add(v128.load(e + j), v128.load(p + j)));
    }
  }
}

/**
 * The same with an INT8 table: out[t, j] = q[ids[t], j] * scales[ids[t]] + timing[t - offsets[s], j].
 * q: i8 [vocab, dim], scales: f32 [vocab].
 */
export function embedTokensI8(ids: usize, offsets: usize, seqs: i32, q: usize, scales: usize, timing: usize, out: usize, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let s = 0; s < seqs; s++) {
    const start = load<i32>(offsets + (<usize>s << 2));
    const end = load<i32>(offsets + (<usize>(s + 1) << 2));
    for (let t = start; t < end; t++) {
      const id = <usize>load<i32>(ids + (<usize>t << 2));
      const e = q + id * <usize>dim;
      const scale = f32x4.splat(load<f32>(scales + (id << 2)));
      const p = timing + <usize>(t - start) * rowBytes;
      const o = out + <usize>t * rowBytes;
      for (let j: usize = 0; j < <usize>dim; j += 4) {
        const codes = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(e + j))));
        v128.store(o + (j << 2), f32x4.add(f32x4.mul(codes, scale), v128.load(p + (j << 2))));
      }
    }
  }
}

/** y = (x - mean) / sqrt(var + eps) * g + b per row; x, y: [rows, dim] (may alias), g, b: [dim]. */
export function layerNormEps(x: usize, g: usize, b: usize, y: usize, rows: i32, dim: i32, eps: f32): void {
  const rowBytes = <usize>dim << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 16) acc = f32x4.add(acc, v128.load(xr + j));
    const mean = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)) / <f32>dim;
    const m = f32x4.splat(mean);
    acc = f32x4.splat(0);
    for (let j: usize = 0; j < rowBytes; j += 16) {
      const d = f32x4.sub(v128.load(xr + j), m);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    const variance = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)) / <f32>dim;
    const inv = f32x4.splat(<f32>1 / Mathf.sqrt(variance + eps));
    for (let j: usize = 0; j < rowBytes; j += 16) {
      const n = f32x4.mul(f32x4.sub(v128.load(xr + j), m), inv);
      v128.store(yr + j, f32x4.add(f32x4.mul(n, v128.load(g + j)), v128.load(b + j)));
    }
  }
}

/**
 * Self-attention within each packed text. qkv: [T, 3 * width] (q | k | v), heads of dh = width / heads
 * (a multiple of 4), out: [T, width], scratch: f32 [max text length, rounded up to 4]:
 *   out_h[i] = sum_j softmax_j(scale * q_h[i] . k_h[j]) v_h[j] over j in the text of i.
 */
export function attentionPacked(qkv: usize, out: usize, offsets: usize, seqs: i32, width: i32, heads: i32, scale: f32, scratch: usize): void {
  const dh = width / heads;
  const dhBytes = <usize>dh << 2;
  const stride = <usize>(3 * width) << 2;
  const kOff = <usize>width << 2;
  const vOff = <usize>(2 * width) << 2;
  const outStride = <usize>width << 2;
  for (let s = 0; s < seqs; s++) {
    const start = load<i32>(offsets + (<usize>s << 2));
    const n = load<i32>(offsets + (<usize>(s + 1) << 2)) - start;
    const base = qkv + <usize>start * stride;
    for (let h = 0; h < heads; h++) {
      const head = <usize>(h * dh) << 2;
      for (let i = 0; i < n; i++) {
        const qi = base + <usize>i * stride + head;
        // Scores and their max.
        let max: f32 = -Infinity;
        for (let j = 0; j < n; j++) {
          const kj = base + <usize>j * stride + kOff + head;
          let acc = f32x4.splat(0);
          for (let d: usize = 0; d < dhBytes; d += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(qi + d), v128.load(kj + d)));
          const score = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)) * scale;
          store<f32>(scratch + (<usize>j << 2), score);
          if (score > max) max = score;
        }
        // exp(score - max), four at a time, and their sum.
        const m = f32x4.splat(max);
        let sumV = f32x4.splat(0);
        let j = 0;
        for (; j + 4 <= n; j += 4) {
          const e = expF32x4(f32x4.sub(v128.load(scratch + (<usize>j << 2)), m));
          v128.store(scratch + (<usize>j << 2), e);
          sumV = f32x4.add(sumV, e);
        }
        let sum = f32x4.extract_lane(sumV, 0) + f32x4.extract_lane(sumV, 1) + f32x4.extract_lane(sumV, 2) + f32x4.extract_lane(sumV, 3);
        for (; j < n; j++) {
          const e = Mathf.exp(load<f32>(scratch + (<usize>j << 2)) - max);
          store<f32>(scratch + (<usize>j << 2), e);
          sum += e;
        }
        // out = sum_j p_j v_j / sum.
        const oi = out + <usize>(start + i) * outStride + head;
        for (let d: usize = 0; d < dhBytes; d += 16) v128.store(oi + d, f32x4.splat(0));
        for (let jj = 0; jj < n; jj++) {
          const p = f32x4.splat(load<f32>(scratch + (<usize>jj << 2)));
          const vj = base + <usize>jj * stride + vOff + head;
          for (let d: usize = 0; d < dhBytes; d += 16) v128.store(oi + d, f32x4.add(v128.load(oi + d), f32x4.mul(p, v128.load(vj + d))));
        }
        const inv = f32x4.splat(<f32>1 / sum);
        for (let d: usize = 0; d < dhBytes; d += 16) v128.store(oi + d, f32x4.mul(v128.load(oi + d), inv));
      }
    }
  }
}

/** x = max(x, 0) in place over n values (n a multiple of 4). */
export function reluInPlace(x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  for (let i: usize = 0; i < (<usize>n << 2); i += 16) v128.store(x + i, f32x4.max(v128.load(x + i), zero));
}

/** out[s, :] = mean of h's rows offsets[s] .. offsets[s + 1]; h: [T, dim], out: [seqs, dim]. */
export function meanPoolPacked(h: usize, offsets: usize, seqs: i32, dim: i32, out: usize): void {
  const rowBytes = <usize>dim << 2;
  for (let s = 0; s < seqs; s++) {
    const start = load<i32>(offsets + (<usize>s << 2));
    const end = load<i32>(offsets + (<usize>(s + 1) << 2));
    const o = out + <usize>s * rowBytes;
    for (let j: usize = 0; j < rowBytes; j += 16) v128.store(o + j, f32x4.splat(0));
    for (let t = start; t < end; t++) {
      const hr = h + <usize>t * rowBytes;
      for (let j: usize = 0; j < rowBytes; j += 16) v128.store(o + j, f32x4.add(v128.load(o + j), v128.load(hr + j)));
    }
    const inv = f32x4.splat(<f32>1 / <f32>max(end - start, 1));
    for (let j: usize = 0; j < rowBytes; j += 16) v128.store(o + j, f32x4.mul(v128.load(o + j), inv));
  }
}

/** x = tanh(x) in place over n values. */
export function tanhInPlace(x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, Mathf.tanh(load<f32>(p)));
  }
}

/**
 * Per-row symmetric quantisation to i16 codes -levels..levels: x[r, j] ~= q[r, j] * scales[r]; x: f32
 * [rows, n], q: i16 [rows, n] (n a multiple of 8), scales: f32 [rows]. With levels <= 4095 the packed
 * INT8 kernel (linearI8Packed) stays exact in i32 for inDim up to 4,129 (inDim * 127 * levels < 2^31).
 */
export function quantizeRowsI16Levels(x: usize, rows: i32, n: i32, q: usize, scales: usize, levels: f32): void {
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
    const out = q + (<usize>(r * n) << 1);
    for (let j = 0; j < n; j += 8) {
      const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>j << 2)), inv)));
      const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(row + (<usize>(j + 4) << 2)), inv)));
      v128.store(out + (<usize>j << 1), i16x8.narrow_i32x4_s(a, b));
    }
  }
}
