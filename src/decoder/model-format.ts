/**
 * The vector-to-text decoder's model directory (runtime-agnostic: no fs here; model-node.ts reads and writes it):
 *
 *   model.json   DecoderManifestSchema below, UTF-8 JSON
 *   weights.bin  every tensor as little-endian float32, concatenated in the order of `tensors`
 *
 * Matrices are [in, out] and applied as y = x @ W + b (x a row vector), as in src/lvm/model-format.ts.
 * Tensors of a config (V vocabulary, D vector width, E token embedding, H hidden; gates in order r | z | n):
 *
 *   embed.tokens  [V, E]       token embedding
 *   cond.w        [D, H]       h0 = tanh(v @ cond.w + cond.b)
 *   cond.b        [H]
 *   gru.w_x       [E + D, 3H]  input of step t: x_t = [embed(token_{t-1}) ; v]
 *   gru.b_x       [3H]
 *   gru.w_h       [H, 3H]
 *   gru.b_h       [3H]
 *   head.w        [H, V]       logits_t = h_t @ head.w + head.b
 *   head.b        [V]
 *
 * The equations are in reference.ts (one function per layer). Token 1 (<s>) starts every sequence and the model
 * ends one by predicting token 2 (</s>); ids 0 and 3..5 are never generated.
 *
 * This file is the float32 directory (version 1, no `precision` field). The INT8 directory (version 2,
 * `precision: "int8"`, written by `lvm quantize-decoder`) is model-int8-format.ts; decoder-files.ts reads both.
 */
import { z } from "zod";
import type { TensorMap } from "../lvm/model-format.ts";
import { createRng } from "../lvm/rng.ts";
import { fnv1a } from "../math/fnv1a.ts";
import { nonNegativeInt, parseJsonFile, positiveInt } from "../validate/parse-file.ts";

export const DECODER_FORMAT = "lvm-edge-decoder";
export const DECODER_VERSION = 1;

export const DecoderConfigSchema = z.object({
  vocab: positiveInt(),
  dim: positiveInt(),
  embed: positiveInt(),
  hidden: positiveInt(),
  /** Longest sequence (in pieces, without </s>) trained on and generated. */
  maxTokens: positiveInt(),
  /**
   * A corrector (vec2text's second model): v is [target ; hypothesis], dim twice the encoder's. The hypothesis half
   * is the target itself for the first decode and the embedding of the best text so far when refining.
   */
  corrector: z.boolean().optional(),
});
export type DecoderConfig = z.infer<typeof DecoderConfigSchema>;

/** Width of the target vectors a decoder reads (the encoder's): half a corrector's conditioning. */
export function targetDim(c: DecoderConfig): number {
  return c.corrector ? c.dim / 2 : c.dim;
}

/** The conditioning v [dim] for a target: a corrector's is [target ; hypothesis] (the target when there is none). */
export function conditioning(c: DecoderConfig, target: Float32Array, hypothesis: Float32Array = target): Float32Array {
  if (!c.corrector) return target;
  const v = new Float32Array(c.dim);
  v.set(target);
  v.set(hypothesis, c.dim / 2);
  return v;
}

export const DecoderManifestSchema = z.object({
  format: z.literal(DECODER_FORMAT, { error: `expected "${DECODER_FORMAT}" (not an lvm-edge decoder)` }),
  version: z.literal(DECODER_VERSION, { error: `expected decoder version ${DECODER_VERSION}` }),
  config: DecoderConfigSchema,
  encoder: z.object({ id: z.string().min(1), dim: positiveInt() }),
  tensors: z.array(z.object({ name: z.string().min(1), shape: z.array(nonNegativeInt()), offset: nonNegativeInt() })),
  weights: z.object({ bytes: nonNegativeInt(), fnv1a: nonNegativeInt() }),
  training: z.record(z.string(), z.unknown()),
});
export type DecoderManifest = z.infer<typeof DecoderManifestSchema>;

export class DecoderFormatError extends Error {
  override name = "DecoderFormatError";
}

/** An INT8 matrix as the core holds it: rows [out, in], W[i, o] ~= q[o * inDim + i] * scales[o] (one scale per output). */
export interface Int8Rows {
  outDim: number;
  inDim: number;
  q: Int8Array;
  scales: Float32Array;
}

/** The INT8 weights the core runs (model-int8-format.ts): names are those of the INT8 file. */
export interface DecoderInt8Weights {
  matrices: Record<"embed.tokens" | "cond.w" | "gru.w_x.embed" | "gru.w_x.vector" | "gru.w_h" | "head.w", Int8Rows>;
  biases: Record<"cond.b" | "gru.b_x" | "gru.b_h" | "head.b", Float32Array>;
}

export interface DecoderModel {
  config: DecoderConfig;
  /** Float32 tensors [in, out]; for a model read from an INT8 file, its dequantised weights (made on first use). */
  tensors: TensorMap;
  /** Present when read from an INT8 file: the stored INT8 weights, which the core runs as they are. */
  int8?: DecoderInt8Weights;
}

/** The default edge size: 3.9M parameters (about 3.9 MB as INT8). */
export function defaultDecoderConfig(vocab: number, dim: number): DecoderConfig {
  return { vocab, dim, embed: 128, hidden: 256, maxTokens: 32 };
}

export function decoderTensorShapes(c: DecoderConfig): [name: string, shape: number[]][] {
  const { vocab: V, dim: D, embed: E, hidden: H } = c;
  return [
    ["embed.tokens", [V, E]],
    ["cond.w", [D, H]],
    ["cond.b", [H]],
    ["gru.w_x", [E + D, 3 * H]],
    ["gru.b_x", [3 * H]],
    ["gru.w_h", [H, 3 * H]],
    ["gru.b_h", [3 * H]],
    ["head.w", [H, V]],
    ["head.b", [V]],
  ];
}

export function decoderParameterCount(c: DecoderConfig): number {
  return decoderTensorShapes(c).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** Seeded initialisation: glorot-uniform matrices, N(0, 0.1) embedding, zero biases. */
export function initDecoderTensors(c: DecoderConfig, seed: number): TensorMap {
  const rng = createRng(seed);
  const tensors: TensorMap = new Map();
  for (const [name, shape] of decoderTensorShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name === "embed.tokens") for (let i = 0; i < n; i++) data[i] = 0.1 * rng.normal();
    else if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0] + shape[1]));
      for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * limit;
    }
    tensors.set(name, { shape, data });
  }
  return tensors;
}

/** Checks that `tensors` hold exactly the config's names and shapes; names the first difference. */
export function checkDecoderTensors(c: DecoderConfig, tensors: TensorMap, where: string): void {
  for (const [name, shape] of decoderTensorShapes(c)) {
    const t = tensors.get(name);
    if (!t) throw new DecoderFormatError(`${where}: missing tensor '${name}' [${shape}]`);
    if (t.shape.join(",") !== shape.join(","))
      throw new DecoderFormatError(`${where}: tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
  }
}

export function encodeDecoder(model: DecoderModel, encoder: { id: string; dim: number }, training: Record<string, unknown>) {
  let total = 0;
  for (const t of model.tensors.values()) total += 4 * t.data.length;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const tensors: DecoderManifest["tensors"] = [];
  let offset = 0;
  for (const [name, t] of model.tensors) {
    tensors.push({ name, shape: t.shape, offset });
    for (let i = 0; i < t.data.length; i++) view.setFloat32(offset + 4 * i, t.data[i], true);
    offset += 4 * t.data.length;
  }
  const manifest: DecoderManifest = {
    format: DECODER_FORMAT,
    version: DECODER_VERSION,
    config: model.config,
    encoder,
    tensors,
    weights: { bytes: bytes.length, fnv1a: fnv1a(bytes) },
    training,
  };
  return { manifest, bytes };
}

/** model.json text + weights.bin bytes of a float32 directory -> the model; errors name the file and field. Reads f32
 * files only: parseDecoderFiles (decoder-files.ts) reads both precisions. */
export function decodeDecoder(json: string, weights: Uint8Array, where: string): { manifest: DecoderManifest; model: DecoderModel } {
  const manifest = parseJsonFile(DecoderManifestSchema, json, `${where}/model.json`, (m) => new DecoderFormatError(m));
  if (manifest.weights.bytes !== weights.length || manifest.weights.fnv1a !== fnv1a(weights))
    throw new DecoderFormatError(
      `${where}/weights.bin (${weights.length} bytes) is not the file model.json was written with (${manifest.weights.bytes} bytes): write the model again`,
    );
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const tensors: TensorMap = new Map();
  for (const t of manifest.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset + 4 * n > weights.length)
      throw new DecoderFormatError(`${where}/model.json: tensors: '${t.name}' [${t.shape}] at ${t.offset} runs past weights.bin`);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(t.offset + 4 * i, true);
    tensors.set(t.name, { shape: t.shape, data });
  }
  checkDecoderTensors(manifest.config, tensors, `${where}/model.json`);
  return { manifest, model: { config: manifest.config, tensors } };
}
