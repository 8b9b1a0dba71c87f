/**
 * Plain-TypeScript reference forward pass for every LVM architecture: no TF.js, no runtime APIs, one
 * function per layer, float32 storage with float64 accumulation. Every faster implementation (TF.js for
 * training, the WASM SIMD core, INT8) is tested against this file.
 *
 * Conventions: row-major arrays; a matrix W of shape [in, out] is applied as y = x @ W + b, i.e.
 * y[o] = b[o] + sum_i x[i] * W[i * out + o]. Batches are rows. Contexts are [batch, context, dim], oldest
 * concept first; the last one (index context - 1) is the "last context" used by the residual and the blend.
 */

import type { HubnessSettings, ModelConfig, ModelManifest, RecurrentConfig, TensorMap, TransformerConfig } from "./model-format.ts";
import { checkWeights, decodeTensors } from "./model-format.ts";
import { dequantizeTensors, isQuantized } from "./quantized-model.ts";

export interface ReferenceModel {
  manifest: ModelManifest;
  config: ModelConfig;
  tensors: TensorMap;
  /** Weight of the last context in the output blend (0 = none). */
  lastWeight: number;
  /** How predictions are searched (model.json retrieval.hubness); absent = plain cosine. */
  hubness?: HubnessSettings;
}

/** Float32 model files, and INT8 ones (`lvm quantize`), whose weights are decoded to the floats they stand for. */
export function loadModelFromBytes(manifest: ModelManifest, weights: Uint8Array | ArrayBuffer): ReferenceModel {
  const bytes = weights instanceof Uint8Array ? weights : new Uint8Array(weights);
  checkWeights(manifest, bytes);
  const tensors = isQuantized(manifest) ? dequantizeTensors(manifest, bytes) : decodeTensors(manifest, bytes);
  const hubness = manifest.retrieval?.hubness;
  return { manifest, config: manifest.config, tensors, lastWeight: manifest.blend?.lastWeight ?? 0, ...(hubness ? { hubness } : {}) };
}

function param(model: { tensors: TensorMap }, name: string): Float32Array {
  const t = model.tensors.get(name);
  if (!t) throw new Error(`model has no tensor '${name}'`);
  return t.data;
}

/** out[rows, outDim] = x[rows, inDim] @ w[inDim, outDim] + b[outDim] (b optional). */
export function linear(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  rows: number,
  inDim: number,
  outDim: number,
): Float32Array {
  const out = new Float32Array(rows * outDim);
  const acc = new Float64Array(outDim);
  for (let r = 0; r < rows; r++) {
    if (b) for (let o = 0; o < outDim; o++) acc[o] = b[o];
    else acc.fill(0);
    for (let i = 0; i < inDim; i++) {
      const xi = x[r * inDim + i];
      if (xi === 0) continue;
      const base = i * outDim;
      for (let o = 0; o < outDim; o++) acc[o] += xi * w[base + o];
    }
    for (let o = 0; o < outDim; o++) out[r * outDim + o] = acc[o];
  }
  return out;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** Row i of a [rows, dim] array scaled to unit length (zero rows stay zero). */
export function l2NormalizeRows(x: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[r * dim + j] * x[r * dim + j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) out[r * dim + j] = x[r * dim + j] * inv;
  }
  return out;
}

/** Time step t of contexts [batch, context, dim] as [batch, dim]. */
export function timeStep(contexts: Float32Array, batch: number, context: number, dim: number, t: number): Float32Array {
  const out = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) out.set(contexts.subarray((b * context + t) * dim, (b * context + t + 1) * dim), b * dim);
  return out;
}

/**
 * One GRU step for a batch (PyTorch gate order and equations):
 *   r  = sigmoid(x @ W_ir + b_ir + h @ W_hr + b_hr)
 *   z  = sigmoid(x @ W_iz + b_iz + h @ W_hz + b_hz)
 *   n  = tanh(x @ W_in + b_in + r * (h @ W_hn + b_hn))
 *   h' = (1 - z) * n + z * h
 * x: [batch, input], h: [batch, hidden] -> h': [batch, hidden]. Tensors `gru.{layer}.w_i{r,z,n}` [input, hidden],
 * `w_h{r,z,n}` [hidden, hidden], `b_i{r,z,n}` and `b_h{r,z,n}` [hidden].
 */
export function gruCell(
  model: { tensors: TensorMap },
  layer: number,
  x: Float32Array,
  h: Float32Array,
  batch: number,
  input: number,
  hidden: number,
) {
  const p = (n: string) => param(model, `gru.${layer}.${n}`);
  const xr = linear(x, p("w_ir"), p("b_ir"), batch, input, hidden);
  const xz = linear(x, p("w_iz"), p("b_iz"), batch, input, hidden);
  const xn = linear(x, p("w_in"), p("b_in"), batch, input, hidden);
  const hr = linear(h, p("w_hr"), p("b_hr"), batch, hidden, hidden);
  const hz = linear(h, p("w_hz"), p("b_hz"), batch, hidden, hidden);
  const hn = linear(h, p("w_hn"), p("b_hn"), batch, hidden, hidden);
  const out = new Float32Array(batch * hidden);
  for (let i = 0; i < batch * hidden; i++) {
    const r = sigmoid(xr[i] + hr[i]);
    const z = sigmoid(xz[i] + hz[i]);
    const n = Math.tanh(xn[i] + r * hn[i]);
    out[i] = (1 - z) * n + z * h[i];
  }
  return out;
}

/**
 * One LSTM step for a batch (PyTorch gate order i, f, g, o; one bias per gate):
 *   i  = sigmoid(x @ W_ii + h @ W_hi + b_i)
 *   f  = sigmoid(x @ W_if + h @ W_hf + b_f)
 *   g  = tanh(x @ W_ig + h @ W_hg + b_g)
 *   o  = sigmoid(x @ W_io + h @ W_ho + b_o)
 *   c' = f * c + i * g
 *   h' = o * tanh(c')
 * x: [batch, input], h, c: [batch, hidden]. Tensors `lstm.{layer}.w_i{i,f,g,o}` [input, hidden],
 * `w_h{i,f,g,o}` [hidden, hidden], `b_{i,f,g,o}` [hidden].
 */
export function lstmCell(
  model: { tensors: TensorMap },
  layer: number,
  x: Float32Array,
  h: Float32Array,
  c: Float32Array,
  batch: number,
  input: number,
  hidden: number,
): { h: Float32Array; c: Float32Array } {
  const p = (n: string) => param(model, `lstm.${layer}.${n}`);
  const pre = (g: string) => {
    const a = linear(x, p(`w_i${g}`), p(`b_${g}`), batch, input, hidden);
    const b = linear(h, p(`w_h${g}`), null, batch, hidden, hidden);
    for (let k = 0; k < a.length; k++) a[k] += b[k];
    return a;
  };
  const [gi, gf, gg, go] = [pre("i"), pre("f"), pre("g"), pre("o")];
  const hOut = new Float32Array(batch * hidden);
  const cOut = new Float32Array(batch * hidden);
  for (let k = 0; k < batch * hidden; k++) {
    const cNew = sigmoid(gf[k]) * c[k] + sigmoid(gi[k]) * Math.tanh(gg[k]);
    cOut[k] = cNew;
    hOut[k] = sigmoid(go[k]) * Math.tanh(cNew);
  }
  return { h: hOut, c: cOut };
}

/** Stacked GRU/LSTM over the context, zero initial states; returns the top layer's last hidden state [batch, hidden]. */
export function recurrentForward(
  model: { tensors: TensorMap },
  config: RecurrentConfig,
  contexts: Float32Array,
  batch: number,
): Float32Array {
  const { dim, context, hidden, layers } = config;
  let sequence: Float32Array<ArrayBufferLike>[] = [];
  for (let t = 0; t < context; t++) sequence.push(timeStep(contexts, batch, context, dim, t));
  let input = dim;
  for (let l = 0; l < layers; l++) {
    let h: Float32Array<ArrayBufferLike> = new Float32Array(batch * hidden);
    let c: Float32Array<ArrayBufferLike> = new Float32Array(batch * hidden);
    const outputs: Float32Array<ArrayBufferLike>[] = [];
    for (let t = 0; t < context; t++) {
      if (config.arch === "gru") h = gruCell(model, l, sequence[t], h, batch, input, hidden);
      else ({ h, c } = lstmCell(model, l, sequence[t], h, c, batch, input, hidden));
      outputs.push(h);
    }
    sequence = outputs;
    input = hidden;
  }
  return sequence[context - 1];
}

/** y = (x - mean) / sqrt(var + 1e-5) * g + b over the last axis of x [rows, dim] (biased variance). */
export function layerNorm(x: Float32Array, g: Float32Array, b: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < dim; j++) mean += x[r * dim + j];
    mean /= dim;
    let variance = 0;
    for (let j = 0; j < dim; j++) variance += (x[r * dim + j] - mean) ** 2;
    variance /= dim;
    const inv = 1 / Math.sqrt(variance + 1e-5);
    for (let j = 0; j < dim; j++) out[r * dim + j] = (x[r * dim + j] - mean) * inv * g[j] + b[j];
  }
  return out;
}

/**
 * Multi-head self-attention without mask over `tokens` positions (bidirectional):
 *   q = x @ Wq + bq, k = x @ Wk + bk, v = x @ Wv + bv            (x: [batch * tokens, width])
 *   per head h (columns h*dh .. (h+1)*dh, dh = width / heads):
 *     p = softmax(q_h @ k_h^T / sqrt(dh)) over the key positions;  o_h = p @ v_h
 *   out = concat_h(o_h) @ Wo + bo
 */
export function selfAttention(
  model: { tensors: TensorMap },
  prefix: string,
  x: Float32Array,
  batch: number,
  tokens: number,
  width: number,
  heads: number,
) {
  const rows = batch * tokens;
  const q = linear(x, param(model, `${prefix}.wq`), param(model, `${prefix}.bq`), rows, width, width);
  const k = linear(x, param(model, `${prefix}.wk`), param(model, `${prefix}.bk`), rows, width, width);
  const v = linear(x, param(model, `${prefix}.wv`), param(model, `${prefix}.bv`), rows, width, width);
  const dh = width / heads;
  const scale = 1 / Math.sqrt(dh);
  const o = new Float32Array(rows * width);
  const p = new Float64Array(tokens);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tokens; i++) {
        const qi = (b * tokens + i) * width + h * dh;
        let max = -Infinity;
        for (let j = 0; j < tokens; j++) {
          const kj = (b * tokens + j) * width + h * dh;
          let s = 0;
          for (let d = 0; d < dh; d++) s += q[qi + d] * k[kj + d];
          p[j] = s * scale;
          if (p[j] > max) max = p[j];
        }
        let sum = 0;
        for (let j = 0; j < tokens; j++) {
          p[j] = Math.exp(p[j] - max);
          sum += p[j];
        }
        for (let d = 0; d < dh; d++) {
          let acc = 0;
          for (let j = 0; j < tokens; j++) acc += (p[j] / sum) * v[(b * tokens + j) * width + h * dh + d];
          o[qi + d] = acc;
        }
      }
    }
  }
  return linear(o, param(model, `${prefix}.wo`), param(model, `${prefix}.bo`), rows, width, width);
}

/**
 * Pre-LN Transformer encoder; returns the final-LayerNormed state of the last position [batch, width]:
 *   x_t = ctx_t @ W_embed + b_embed + pos[t]
 *   per layer: x = x + attn(LN1(x));  x = x + W2(gelu(LN2(x) @ W1 + b1)) + b2
 *   out = final_LN(x_{context-1})
 */
export function transformerForward(
  model: { tensors: TensorMap },
  config: TransformerConfig,
  contexts: Float32Array,
  batch: number,
): Float32Array {
  const { dim, context, width, heads, ffn } = config;
  const rows = batch * context;
  const x = linear(contexts, param(model, "embed.w"), param(model, "embed.b"), rows, dim, width);
  const pos = param(model, "embed.pos");
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) x[r * width + j] += pos[(r % context) * width + j];
  for (let l = 0; l < config.layers; l++) {
    const p = `layers.${l}`;
    const a = selfAttention(
      model,
      `${p}.attn`,
      layerNorm(x, param(model, `${p}.ln1.g`), param(model, `${p}.ln1.b`), rows, width),
      batch,
      context,
      width,
      heads,
    );
    for (let i = 0; i < x.length; i++) x[i] += a[i];
    const hidden = linear(
      layerNorm(x, param(model, `${p}.ln2.g`), param(model, `${p}.ln2.b`), rows, width),
      param(model, `${p}.ffn.w1`),
      param(model, `${p}.ffn.b1`),
      rows,
      width,
      ffn,
    );
    for (let i = 0; i < hidden.length; i++) hidden[i] = gelu(hidden[i]);
    const f = linear(hidden, param(model, `${p}.ffn.w2`), param(model, `${p}.ffn.b2`), rows, ffn, width);
    for (let i = 0; i < x.length; i++) x[i] += f[i];
  }
  const last = new Float32Array(batch * width);
  for (let b = 0; b < batch; b++) last.set(x.subarray((b * context + context - 1) * width, (b * context + context) * width), b * width);
  return layerNorm(last, param(model, "final_ln.g"), param(model, "final_ln.b"), batch, width);
}

/**
 * The model's prediction before the blend: unit( h @ W_head + b_head (+ last context if residual) ).
 * contexts: [batch, context, dim] -> [batch, dim].
 */
export function predictRaw(model: { tensors: TensorMap; config: ModelConfig }, contexts: Float32Array, batch: number): Float32Array {
  const config = model.config;
  const { dim, context } = config;
  const features =
    config.arch === "transformer" ? transformerForward(model, config, contexts, batch) : recurrentForward(model, config, contexts, batch);
  const featureDim = config.arch === "transformer" ? config.width : config.hidden;
  const y = linear(features, param(model, "head.w"), param(model, "head.b"), batch, featureDim, dim);
  if (config.residual) {
    const last = timeStep(contexts, batch, context, dim, context - 1);
    for (let i = 0; i < y.length; i++) y[i] += last[i];
  }
  return l2NormalizeRows(y, batch, dim);
}

/** out = unit((1 - w) * pred + w * last): the scoring blend with the last context (w = 0 leaves pred). */
export function blendWithLast(
  pred: Float32Array,
  contexts: Float32Array,
  batch: number,
  context: number,
  dim: number,
  w: number,
): Float32Array {
  if (w === 0) return pred;
  const last = timeStep(contexts, batch, context, dim, context - 1);
  const mixed = new Float32Array(pred.length);
  for (let i = 0; i < pred.length; i++) mixed[i] = (1 - w) * pred[i] + w * last[i];
  return l2NormalizeRows(mixed, batch, dim);
}

/** The shipped model's output: contexts [batch, context, dim] -> unit predictions [batch, dim], blend applied. */
export function forward(model: ReferenceModel, contexts: Float32Array, batch: number): Float32Array {
  const { context, dim } = model.config;
  if (contexts.length !== batch * context * dim)
    throw new Error(`contexts hold ${contexts.length} values, expected ${batch} x ${context} x ${dim}`);
  return blendWithLast(predictRaw(model, contexts, batch), contexts, batch, context, dim, model.lastWeight);
}
