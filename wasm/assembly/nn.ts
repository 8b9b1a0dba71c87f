// Element-wise and small layers of the LVMs; shapes in each comment, row-major f32.

/**
 * exp on four lanes: x = n ln2 + r with |r| <= ln2 / 2, exp(r) by the Cephes expf polynomial, 2^n through
 * the exponent bits. Relative error ~1e-7 over the clamped range [-87, 88].
 * n is rounded by adding 1.5 * 2^23 (the sum's low mantissa bits are then n, to nearest even, as f32x4.nearest
 * rounds) and the clamp uses pmin/pmax: one x86 instruction each, where trunc_sat and the NaN-aware min/max take
 * several. Same n, same polynomial, so the same bits as nearest + trunc_sat gave, for every x (NaN stays NaN).
 */
@inline export function expF32x4(x: v128): v128 {
  const clamped = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87)), f32x4.splat(88));
  const magic = f32x4.splat(12582912);
  const t = f32x4.add(f32x4.mul(clamped, f32x4.splat(1.4426950408889634)), magic);
  const n = f32x4.sub(t, magic);
  const r = f32x4.sub(f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(0.693359375))), f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // bits(t) - bits(1.5 * 2^23) = n; (n + 127) << 23 is 2^n's exponent field.
  const pow2n = i32x4.shl(i32x4.add(i32x4.sub(t, i32x4.splat(0x4b400000)), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2n);
}

@inline function sigmoidF32x4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expF32x4(f32x4.neg(x))));
}

/** tanh(x) = 1 - 2 / (exp(2x) + 1), with x clamped to +-15 where tanh is +-1 in f32. */
@inline function tanhF32x4(x: v128): v128 {
  const t = f32x4.min(f32x4.max(x, f32x4.splat(-15)), f32x4.splat(15));
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(expF32x4(f32x4.add(t, t)), f32x4.splat(1))));
}

/**
 * GRU gates, PyTorch order [r | z | n]; xp = x @ W_i + b_i and hp = h @ W_h + b_h, both [batch, 3H]:
 *   r = sigmoid(xp_r + hp_r); z = sigmoid(xp_z + hp_z); n = tanh(xp_n + r * hp_n); h = (1 - z) * n + z * h
 * h: [batch, H], updated in place; H a multiple of 4 (four units per step).
 */
export function gruGates(xp: usize, hp: usize, h: usize, batch: i32, hidden: i32): void {
  const H = <usize>hidden << 2;
  for (let b = 0; b < batch; b++) {
    const xb = xp + <usize>b * 3 * H;
    const hb = hp + <usize>b * 3 * H;
    const out = h + <usize>b * H;
    for (let j: usize = 0; j < H; j += 16) {
      const r = sigmoidF32x4(f32x4.add(v128.load(xb + j), v128.load(hb + j)));
      const z = sigmoidF32x4(f32x4.add(v128.load(xb + H + j), v128.load(hb + H + j)));
      const n = tanhF32x4(f32x4.add(v128.load(xb + 2 * H + j), f32x4.mul(r, v128.load(hb + 2 * H + j))));
      const prev = v128.load(out + j);
      v128.store(out + j, f32x4.add(n, f32x4.mul(z, f32x4.sub(prev, n))));
    }
  }
}

/**
 * LSTM gates, PyTorch order [i | f | g | o]; xp = x @ W_i + b and hp = h @ W_h, both [batch, 4H]:
 *   c = sigmoid(f) * c + sigmoid(i) * tanh(g); h = sigmoid(o) * tanh(c)
 * h, c: [batch, H], updated in place; H a multiple of 4.
 */
export function lstmGates(xp: usize, hp: usize, h: usize, c: usize, batch: i32, hidden: i32): void {
  const H = <usize>hidden << 2;
  for (let b = 0; b < batch; b++) {
    const xb = xp + <usize>b * 4 * H;
    const hb = hp + <usize>b * 4 * H;
    const hOut = h + <usize>b * H;
    const cOut = c + <usize>b * H;
    for (let j: usize = 0; j < H; j += 16) {
      const gi = sigmoidF32x4(f32x4.add(v128.load(xb + j), v128.load(hb + j)));
      const gf = sigmoidF32x4(f32x4.add(v128.load(xb + H + j), v128.load(hb + H + j)));
      const gg = tanhF32x4(f32x4.add(v128.load(xb + 2 * H + j), v128.load(hb + 2 * H + j)));
      const go = sigmoidF32x4(f32x4.add(v128.load(xb + 3 * H + j), v128.load(hb + 3 * H + j)));
      const cNew = f32x4.add(f32x4.mul(gf, v128.load(cOut + j)), f32x4.mul(gi, gg));
      v128.store(cOut + j, cNew);
      v128.store(hOut + j, f32x4.mul(go, tanhF32x4(cNew)));
    }
  }
}

/** y = (x - mean) / sqrt(var + 1e-5) * g + b per row; x, y: [rows, dim] (may alias), g, b: [dim]. */
export function layerNorm(x: usize, g: usize, b: usize, y: usize, rows: i32, dim: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>(r * dim)) << 2);
    const yr = y + ((<usize>(r * dim)) << 2);
    let mean: f32 = 0;
    for (let j = 0; j < dim; j++) mean += load<f32>(xr + (<usize>j << 2));
    mean /= <f32>dim;
    let variance: f32 = 0;
    for (let j = 0; j < dim; j++) {
      const d = load<f32>(xr + (<usize>j << 2)) - mean;
      variance += d * d;
    }
    const inv: f32 = <f32>1 / Mathf.sqrt(variance / <f32>dim + <f32>1e-5);
    for (let j = 0; j < dim; j++) {
      const o = <usize>j << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - mean) * inv * load<f32>(g + o) + load<f32>(b + o));
    }
  }
}

/**
 * Bidirectional multi-head attention over `tokens` positions per sequence.
 * q, k, v, out: [batch * tokens, width]; head h uses columns h*dh .. (h+1)*dh with dh = width / heads:
 *   out_h = softmax(q_h k_h^T / sqrt(dh)) v_h
 * scratch: f32 [tokens].
 */
export function attention(q: usize, k: usize, v: usize, out: usize, batch: i32, tokens: i32, width: i32, heads: i32, scratch: usize): void {
  const dh = width / heads;
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>dh);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tokens; i++) {
        const qi = q + (<usize>((b * tokens + i) * width + h * dh) << 2);
        let max: f32 = -Infinity;
        for (let j = 0; j < tokens; j++) {
          const kj = k + (<usize>((b * tokens + j) * width + h * dh) << 2);
          let s: f32 = 0;
          for (let d = 0; d < dh; d++) s += load<f32>(qi + (<usize>d << 2)) * load<f32>(kj + (<usize>d << 2));
          s *= scale;
          store<f32>(scratch + (<usize>j << 2), s);
          if (s > max) max = s;
        }
        let sum: f32 = 0;
        for (let j = 0; j < tokens; j++) {
          const e = Mathf.exp(load<f32>(scratch + (<usize>j << 2)) - max);
          store<f32>(scratch + (<usize>j << 2), e);
          sum += e;
        }
        const oi = out + (<usize>((b * tokens + i) * width + h * dh) << 2);
        for (let d = 0; d < dh; d++) {
          let acc: f32 = 0;
          for (let j = 0; j < tokens; j++) {
            acc += load<f32>(scratch + (<usize>j << 2)) * load<f32>(v + (<usize>((b * tokens + j) * width + h * dh + d) << 2));
          }
          store<f32>(oi + (<usize>d << 2), acc / sum);
        }
      }
    }
  }
}

/** y[i] += x[i] over n values (n a multiple of 4). */
export function addInPlace(y: usize, x: usize, n: i32): void {
  for (let i: usize = 0; i < (<usize>n << 2); i += 16) v128.store(y + i, f32x4.add(v128.load(y + i), v128.load(x + i)));
}

/** x[r, :] += pos[r % period, :] for x: [rows, dim], pos: [period, dim]. */
export function addRowsCyclic(x: usize, pos: usize, rows: i32, period: i32, dim: i32): void {
  for (let r = 0; r < rows; r++) addInPlace(x + (<usize>(r * dim) << 2), pos + (<usize>((r % period) * dim) << 2), dim);
}

/** Rows of x: [rows, dim] scaled to unit length in place (zero rows stay zero). */
export function l2NormalizeRows(x: usize, rows: i32, dim: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * dim) << 2);
    let acc = f32x4.splat(0);
    for (let i: usize = 0; i < (<usize>dim << 2); i += 16) {
      const v = v128.load(xr + i);
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    const s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    if (s <= 0) continue;
    const inv = f32x4.splat(1 / Mathf.sqrt(s));
    for (let i: usize = 0; i < (<usize>dim << 2); i += 16) v128.store(xr + i, f32x4.mul(v128.load(xr + i), inv));
  }
}

/**
 * out[r] = log(sum_i exp(x[r, i])) for x: [rows, n], out: [rows]; four lanes at a time, a scalar tail when n is not a
 * multiple of 4. The decoder's log-probabilities are logit - out[r] (src/decoder/decode.ts): 8k exps a row took
 * ~80 us in JS, most of a refined decode's host time. The row's max is subtracted first, so exp never overflows;
 * -Infinity entries (masked pieces) add expF32x4's clamped exp(-87) ~ 1.6e-38, which does not show in the f32 sum.
 */
export function logSumExpRows(x: usize, rows: i32, n: i32, out: usize): void {
  const bytes = <usize>n << 2;
  const simdBytes = <usize>(n & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * bytes;
    let mx = f32x4.splat(-Infinity);
    for (let i: usize = 0; i < simdBytes; i += 16) mx = f32x4.max(mx, v128.load(xr + i));
    let m = Mathf.max(Mathf.max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), Mathf.max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    for (let i = simdBytes; i < bytes; i += 4) m = Mathf.max(m, load<f32>(xr + i));
    const mv = f32x4.splat(m);
    let acc = f32x4.splat(0);
    for (let i: usize = 0; i < simdBytes; i += 16) acc = f32x4.add(acc, expF32x4(f32x4.sub(v128.load(xr + i), mv)));
    let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (let i = simdBytes; i < bytes; i += 4) s += Mathf.exp(load<f32>(xr + i) - m);
    store<f32>(out + (<usize>r << 2), m + Mathf.log(s));
  }
}
