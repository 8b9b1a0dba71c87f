/**
 * USE-lite's forward pass in plain TypeScript, one text at a time, float64 throughout (llm.c style: one
 * function per layer, shapes in comments). It is the reference the WASM core encoder is tested against and
 * is itself checked against TF.js's output (the shared mini vectors). Slow: ~0.5 s per long paragraph.
 * The graph, op by op, is summarised in use-lite-weights.ts.
 */
import {
  USE_LITE_EMBED,
  USE_LITE_FFN,
  USE_LITE_HEADS,
  USE_LITE_L2_EPS,
  USE_LITE_LN_EPS,
  USE_LITE_MAX_TOKENS,
  USE_LITE_WIDTH,
  type UseLiteLayerWeights,
  type UseLiteWeights,
} from "./use-lite-weights.ts";

/** ids: [n] token ids (already clipped) -> x: [n, 256] = 2 * E[id] + [sin(p * inv) | cos(p * inv)]. */
export function embedTokens(ids: readonly number[], embeddings: Float32Array, invTimescales: Float32Array): Float64Array {
  const D = USE_LITE_EMBED;
  const half = D / 2;
  const x = new Float64Array(ids.length * D);
  ids.forEach((id, p) => {
    for (let j = 0; j < D; j++) x[p * D + j] = 2 * embeddings[id * D + j];
    for (let j = 0; j < half; j++) {
      // The graph multiplies in float32: position * inv_timescale, then sin/cos.
      const angle = Math.fround(p * invTimescales[j]);
      x[p * D + j] += Math.sin(angle);
      x[p * D + half + j] += Math.cos(angle);
    }
  });
  return x;
}

/** x: [n, d] -> y: [n, d] = (x - mean) / sqrt(var + eps) * g + b per row. */
export function layerNorm(x: Float64Array, n: number, d: number, g: Float32Array, b: Float32Array): Float64Array {
  const y = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x[r * d + j];
    mean /= d;
    let variance = 0;
    for (let j = 0; j < d; j++) variance += (x[r * d + j] - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / d + USE_LITE_LN_EPS);
    for (let j = 0; j < d; j++) y[r * d + j] = (x[r * d + j] - mean) * inv * g[j] + b[j];
  }
  return y;
}

/** x: [n, in] @ w: [in, out] + b: [out] -> [n, out]. */
export function linear(x: Float64Array, n: number, inDim: number, w: Float32Array, b: Float32Array, outDim: number): Float64Array {
  const y = new Float64Array(n * outDim);
  for (let r = 0; r < n; r++) {
    const yr = y.subarray(r * outDim, (r + 1) * outDim);
    for (let o = 0; o < outDim; o++) yr[o] = b[o];
    for (let i = 0; i < inDim; i++) {
      const xi = x[r * inDim + i];
      if (xi === 0) continue;
      const wi = i * outDim;
      for (let o = 0; o < outDim; o++) yr[o] += xi * w[wi + o];
    }
  }
  return y;
}

/**
 * Multi-head self-attention over one text (every position sees every position of the text; the graph's
 * -1e9 bias on padding makes their weight exactly 0 in float32, so padding is simply absent here).
 * qkv: [n, 3w] (q | k | v), heads of dh = w / 4, q scaled by 1 / sqrt(dh) -> [n, w].
 */
export function selfAttention(qkv: Float64Array, n: number, w: number): Float64Array {
  const dh = w / USE_LITE_HEADS;
  const scale = 1 / Math.sqrt(dh);
  const out = new Float64Array(n * w);
  const p = new Float64Array(n);
  for (let h = 0; h < USE_LITE_HEADS; h++) {
    for (let i = 0; i < n; i++) {
      const q = i * 3 * w + h * dh;
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        const k = j * 3 * w + w + h * dh;
        let s = 0;
        for (let d = 0; d < dh; d++) s += qkv[q + d] * scale * qkv[k + d];
        p[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j < n; j++) {
        p[j] = Math.exp(p[j] - max);
        sum += p[j];
      }
      for (let j = 0; j < n; j++) {
        const v = j * 3 * w + 2 * w + h * dh;
        const pj = p[j] / sum;
        for (let d = 0; d < dh; d++) out[i * w + h * dh + d] += pj * qkv[v + d];
      }
    }
  }
  return out;
}

/** In place: x = max(x, 0). */
export function relu(x: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0;
  return x;
}

/** y += x. */
function addInPlace(y: Float64Array, x: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += x[i];
}

/** One transformer layer, pre-norm: x: [n, width] -> h: [n, 512]. */
export function transformerLayer(x: Float64Array, n: number, layer: UseLiteLayerWeights): Float64Array {
  const w = layer.width;
  const W = USE_LITE_WIDTH;
  // Residual path: layer 0 projects its 256-wide input to 512.
  const h = layer.residual ? linear(x, n, w, layer.residual.w, layer.residual.b, W) : Float64Array.from(x);
  const a = layerNorm(x, n, w, layer.ln1Scale, layer.ln1Bias);
  const qkv = linear(a, n, w, layer.qkvW, layer.qkvB, 3 * w); // [n, 3w]
  const attn = selfAttention(qkv, n, w); // [n, w]
  addInPlace(h, linear(attn, n, w, layer.outW, layer.outB, W)); // [n, 512]
  const f = layerNorm(h, n, W, layer.ln2Scale, layer.ln2Bias);
  const hidden = relu(linear(f, n, W, layer.ffn1W, layer.ffn1B, USE_LITE_FFN)); // [n, 1536]
  addInPlace(h, linear(hidden, n, USE_LITE_FFN, layer.ffn2W, layer.ffn2B, W));
  return h;
}

/** h: [n, 512] -> [512], the mean over the text's tokens. */
export function meanPool(h: Float64Array, n: number): Float64Array {
  const W = USE_LITE_WIDTH;
  const m = new Float64Array(W);
  for (let r = 0; r < n; r++) for (let j = 0; j < W; j++) m[j] += h[r * W + j];
  for (let j = 0; j < W; j++) m[j] /= Math.max(n, 1);
  return m;
}

/** m: [512] -> tanh(m @ Wt + bt) / |.|: [512], unit length. */
export function tanhHead(m: Float64Array, weights: UseLiteWeights): Float64Array {
  const W = USE_LITE_WIDTH;
  const v = linear(m, 1, W, weights.tanhW, weights.tanhB, W).map(Math.tanh);
  let ss = 0;
  for (const x of v) ss += x * x;
  const inv = 1 / Math.sqrt(Math.max(ss, USE_LITE_L2_EPS));
  return v.map((x) => x * inv);
}

/** One text's token ids -> its 512-D unit vector. Ids past the first 128 are dropped, as the graph does. */
export function useLiteForward(ids: readonly number[], weights: UseLiteWeights): Float64Array {
  if (ids.length === 0) throw new Error("USE-lite needs at least one token");
  const clipped = ids.slice(0, USE_LITE_MAX_TOKENS);
  const n = clipped.length;
  let h = embedTokens(clipped, weights.embeddings, weights.invTimescales); // [n, 256]
  for (const layer of weights.layers) h = transformerLayer(h, n, layer); // [n, 512]
  return tanhHead(meanPool(h, n), weights);
}
