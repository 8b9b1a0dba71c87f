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
 * embedTokensF32 with the table kept as i16 codes and one f32 scale per row (an INT8 weights file's embedding, i16 or
 * i8 codes): out[t, :] = q[ids[t], :] * scale[ids[t]] + timing[t - offsets[s], :]. The same f32 values as a table
 * dequantised on the host (an i16 code times an f32 scale is exact in f64, so both round once), at half the memory:
 * 4.1 MB instead of 8.2 MB for USE-lite's 8,002 x 256.
 * ids: i32 [T], q: i16 [vocab, dim], scales: f32 [vocab], timing: f32 [maxLen, dim], out: f32 [T, dim]; dim % 8 == 0.
 */
export function embedTokensI16(
  ids: usize,
  offsets: usize,
  seqs: i32,
  q: usize,
  scales: usize,
  timing: usize,
  out: usize,
  dim: i32,
): void {
  const rowBytes = <usize>dim << 2;
  const codeBytes = <usize>dim << 1;
  for (let s = 0; s < seqs; s++) {
    const start = load<i32>(offsets + (<usize>s << 2));
    const end = load<i32>(offsets + (<usize>(s + 1) << 2));
    for (let t = start; t < end; t++) {
      const id = <usize>load<i32>(ids + (<usize>t << 2));
      const e = q + id * codeBytes;
      const scale = f32x4.splat(load<f32>(scales + (id << 2)));
      const p = timing + <usize>(t - start) * rowBytes;
      const o = out + <usize>t * rowBytes;
      for (let j: usize = 0; j < codeBytes; j += 16) {
        const codes = v128.load(e + j);
        const lo = f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(codes));
        const hi = f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(codes));
        v128.store(o + (j << 1), f32x4.add(f32x4.mul(lo, scale), v128.load(p + (j << 1))));
        v128.store(o + (j << 1) + 16, f32x4.add(f32x4.mul(hi, scale), v128.load(p + (j << 1) + 16)));
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

/** The four lane sums of a, b, c, d as one vector [sum a, sum b, sum c, sum d]. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 2, 6), v128.shuffle<f32>(a, b, 1, 5, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 2, 6), v128.shuffle<f32>(c, d, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** scale * q . k over dh floats (dhBytes a multiple of 16). */
@inline function dotScaled(q: usize, k: usize, dhBytes: usize, scale: f32): f32 {
  let acc = f32x4.splat(0);
  for (let d: usize = 0; d < dhBytes; d += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(q + d), v128.load(k + d)));
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)) * scale;
}

/**
 * Self-attention within each packed text. qkv: [T, 3 * width] (q | k | v), heads of dh = width / heads
 * (a multiple of 32), out: [T, width], scratch: f32 [max text length, rounded up to 4]:
 *   out_h[i] = sum_j softmax_j(scale * q_h[i] . k_h[j]) v_h[j] over j in the text of i.
 * Scores four keys at a time; the weighted sum of v keeps 32 outputs in registers across all keys.
 */
export function attentionPacked(qkv: usize, out: usize, offsets: usize, seqs: i32, width: i32, heads: i32, scale: f32, scratch: usize): void {
  const dh = width / heads;
  const dhBytes = <usize>dh << 2;
  const stride = <usize>(3 * width) << 2;
  const kOff = <usize>width << 2;
  const vOff = <usize>(2 * width) << 2;
  const outStride = <usize>width << 2;
  const sv = f32x4.splat(scale);
  for (let s = 0; s < seqs; s++) {
    const start = load<i32>(offsets + (<usize>s << 2));
    const n = load<i32>(offsets + (<usize>(s + 1) << 2)) - start;
    const base = qkv + <usize>start * stride;
    for (let h = 0; h < heads; h++) {
      const head = <usize>(h * dh) << 2;
      for (let i = 0; i < n; i++) {
        const qi = base + <usize>i * stride + head;
        // Scores, four keys at a time, and their max.
        let maxV = f32x4.splat(-Infinity);
        let j = 0;
        for (; j + 4 <= n; j += 4) {
          const k0 = base + <usize>j * stride + kOff + head;
          const k1 = k0 + stride;
          const k2 = k1 + stride;
          const k3 = k2 + stride;
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          for (let d: usize = 0; d < dhBytes; d += 16) {
            const qv = v128.load(qi + d);
            a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k0 + d)));
            a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + d)));
            a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + d)));
            a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + d)));
          }
          const scores = f32x4.mul(hsum4(a0, a1, a2, a3), sv);
          v128.store(scratch + (<usize>j << 2), scores);
          maxV = f32x4.max(maxV, scores);
        }
        let max = Mathf.max(Mathf.max(f32x4.extract_lane(maxV, 0), f32x4.extract_lane(maxV, 1)), Mathf.max(f32x4.extract_lane(maxV, 2), f32x4.extract_lane(maxV, 3)));
        for (; j < n; j++) {
          const score = dotScaled(qi, base + <usize>j * stride + kOff + head, dhBytes, scale);
          store<f32>(scratch + (<usize>j << 2), score);
          if (score > max) max = score;
        }
        // exp(score - max), four at a time, and their sum.
        const m = f32x4.splat(max);
        let sumV = f32x4.splat(0);
        j = 0;
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
        // out = sum_j p_j v_j / sum, 32 outputs (8 vectors) at a time held in registers.
        const inv = f32x4.splat(<f32>1 / sum);
        const oi = out + <usize>(start + i) * outStride + head;
        for (let c: usize = 0; c < dhBytes; c += 128) {
          let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
          let o4 = f32x4.splat(0), o5 = f32x4.splat(0), o6 = f32x4.splat(0), o7 = f32x4.splat(0);
          let vj = base + vOff + head + c;
          for (let jj = 0; jj < n; jj++) {
            const p = v128.load32_splat(scratch + (<usize>jj << 2));
            o0 = f32x4.add(o0, f32x4.mul(p, v128.load(vj)));
            o1 = f32x4.add(o1, f32x4.mul(p, v128.load(vj, 16)));
            o2 = f32x4.add(o2, f32x4.mul(p, v128.load(vj, 32)));
            o3 = f32x4.add(o3, f32x4.mul(p, v128.load(vj, 48)));
            o4 = f32x4.add(o4, f32x4.mul(p, v128.load(vj, 64)));
            o5 = f32x4.add(o5, f32x4.mul(p, v128.load(vj, 80)));
            o6 = f32x4.add(o6, f32x4.mul(p, v128.load(vj, 96)));
            o7 = f32x4.add(o7, f32x4.mul(p, v128.load(vj, 112)));
            vj += stride;
          }
          const o = oi + c;
          v128.store(o, f32x4.mul(o0, inv));
          v128.store(o, f32x4.mul(o1, inv), 16);
          v128.store(o, f32x4.mul(o2, inv), 32);
          v128.store(o, f32x4.mul(o3, inv), 48);
          v128.store(o, f32x4.mul(o4, inv), 64);
          v128.store(o, f32x4.mul(o5, inv), 80);
          v128.store(o, f32x4.mul(o6, inv), 96);
          v128.store(o, f32x4.mul(o7, inv), 112);
        }
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
