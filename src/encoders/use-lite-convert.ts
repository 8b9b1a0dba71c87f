/**
 * TF.js USE-lite weights -> the WASM core's weights file (use-lite-core-format.ts): matrices transposed to
 * [out, in], INT8 per output row where the precision asks for it (the embedding i16), the embedding doubled and the timing
 * signal precomputed exactly as the graph computes it (float32 position * inv_timescale, then sin | cos).
 */
import type { Vocabulary } from "./unigram-tokenizer.ts";
import { type CoreTensor, expectedTensors, type UseLiteCorePrecision, writeUseLiteCoreFile } from "./use-lite-core-format.ts";
import { USE_LITE_EMBED, USE_LITE_MAX_TOKENS, type UseLiteWeights } from "./use-lite-weights.ts";

/** [in, out] -> [out, in]. */
export function transpose(w: Float32Array, inDim: number, outDim: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) t[o * inDim + i] = w[i * outDim + o];
  return t;
}

/** Symmetric per-row quantisation of a [rows, n] matrix to -levels..levels: w[r, i] ~= q[r, i] * scales[r]. */
export function quantizePerRow<T extends Int8Array | Int16Array>(
  w: Float32Array,
  rows: number,
  n: number,
  q: T = new Int8Array(w.length) as T,
): { q: T; scales: Float32Array } {
  const levels = q instanceof Int16Array ? 32767 : 127;
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(w[r * n + i]));
    const s = max > 0 ? max / levels : 1;
    scales[r] = s;
    for (let i = 0; i < n; i++) q[r * n + i] = Math.round(w[r * n + i] / s);
  }
  return { q, scales };
}

/** timing[p, j] = sin(p * inv[j]) and timing[p, 128 + j] = cos(p * inv[j]), for p < 128: [128, 256]. */
export function timingSignal(invTimescales: Float32Array): Float32Array {
  const half = USE_LITE_EMBED / 2;
  const out = new Float32Array(USE_LITE_MAX_TOKENS * USE_LITE_EMBED);
  for (let p = 0; p < USE_LITE_MAX_TOKENS; p++) {
    for (let j = 0; j < half; j++) {
      const angle = Math.fround(p * invTimescales[j]);
      out[p * USE_LITE_EMBED + j] = Math.sin(angle);
      out[p * USE_LITE_EMBED + half + j] = Math.cos(angle);
    }
  }
  return out;
}

/** The core's tensors in f32, matrices [out, in] (before any quantisation). */
export function coreTensorsF32(weights: UseLiteWeights): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  m.set(
    "embed",
    weights.embeddings.map((v) => 2 * v),
  );
  m.set("timing", timingSignal(weights.invTimescales));
  weights.layers.forEach((layer, l) => {
    const w = layer.width;
    const W = layer.outB.length;
    const F = layer.ffn1B.length;
    if (layer.residual) {
      m.set(`l${l}.res.w`, transpose(layer.residual.w, w, W));
      m.set(`l${l}.res.b`, layer.residual.b);
    }
    m.set(`l${l}.ln1.g`, layer.ln1Scale);
    m.set(`l${l}.ln1.b`, layer.ln1Bias);
    m.set(`l${l}.qkv.w`, transpose(layer.qkvW, w, 3 * w));
    m.set(`l${l}.qkv.b`, layer.qkvB);
    m.set(`l${l}.out.w`, transpose(layer.outW, w, W));
    m.set(`l${l}.out.b`, layer.outB);
    m.set(`l${l}.ln2.g`, layer.ln2Scale);
    m.set(`l${l}.ln2.b`, layer.ln2Bias);
    m.set(`l${l}.ffn1.w`, transpose(layer.ffn1W, W, F));
    m.set(`l${l}.ffn1.b`, layer.ffn1B);
    m.set(`l${l}.ffn2.w`, transpose(layer.ffn2W, F, W));
    m.set(`l${l}.ffn2.b`, layer.ffn2B);
  });
  m.set("tanh.w", transpose(weights.tanhW, weights.tanhB.length, weights.tanhB.length));
  m.set("tanh.b", weights.tanhB);
  return m;
}

/**
 * The weights file for one precision. `edge` (INT8 only) is the Worker's smaller variant: the embedding INT8
 * per row instead of i16 and the tanh head INT8 per row instead of f32 (see use-lite-core-format.ts).
 */
export function convertUseLite(
  weights: UseLiteWeights,
  vocabulary: Vocabulary,
  precision: UseLiteCorePrecision,
  options: { edge?: boolean } = {},
): Uint8Array {
  const edge = options.edge === true;
  if (edge && precision !== "int8") throw new Error("the edge variant is INT8 only");
  const f32 = coreTensorsF32(weights);
  const tensors = new Map<string, CoreTensor>();
  for (const { name, shape, quantised } of expectedTensors()) {
    const data = f32.get(name);
    if (!data) throw new Error(`USE-lite conversion produced no tensor '${name}'`);
    if (data.length !== shape.reduce((a, b) => a * b, 1))
      throw new Error(`USE-lite conversion: '${name}' has ${data.length} values, expected [${shape}]`);
    if (precision === "int8" && (quantised || (edge && name === "tanh.w"))) {
      const { q, scales } = quantizePerRow(
        data,
        shape[0],
        shape[1],
        name === "embed" && !edge ? new Int16Array(data.length) : new Int8Array(data.length),
      );
      tensors.set(name, { shape, data: q });
      tensors.set(`${name}.scale`, { shape: [shape[0]], data: scales });
    } else {
      tensors.set(name, { shape, data });
    }
  }
  return writeUseLiteCoreFile({ precision, vocabulary, tensors });
}
