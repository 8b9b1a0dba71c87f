/**
 * The INT8 decoder directory (runtime-agnostic), written by `lvm quantize-decoder` from a float32 one
 * (model-format.ts): the weights exactly as the WASM core runs them, so a decoder ships at about a quarter of
 * its f32 size (3.9M parameters: 3.9 MB instead of 15.6 MB).
 *
 *   model.json   DecoderInt8ManifestSchema below: the f32 manifest's fields with `version: 2`,
 *                `precision: "int8"`, `quantization` (scheme, source directory, source weights' bytes and
 *                FNV-1a), and a `dtype` per tensor. Version 2 so that readers of version 1 refuse it by name.
 *   weights.bin  the tensors below in this order, each at its recorded `offset` (a multiple of 4), little-endian;
 *                `weights` records its size and FNV-1a, as in the f32 format.
 *
 * INT8 matrices are stored as the core holds them: rows [out, in] (the f32 file's [in, out] transposed), one
 * float32 scale per output row, W[i, o] = q[o, i] * scale[o], q in -127..127 (quantizePerRow of
 * src/core/packed-linear.ts: scale = max |row| / 127, or 1 for an all-zero row). The input projection gru.w_x is
 * stored as its two halves because the core runs them as two layers with their own scales: the token half (rows
 * 0..E of gru.w_x, applied each step) and the vector half (rows E..E+D, applied once per vector).
 *
 *   name                     dtype     shape         f32 source
 *   embed.tokens             int8      [V, E]        embed.tokens (already [token, E]: one scale per token)
 *   embed.tokens.scale       float32   [V]
 *   cond.w                   int8      [H, D]        cond.w [D, H] transposed
 *   cond.w.scale             float32   [H]
 *   cond.b                   float32   [H]
 *   gru.w_x.embed            int8      [3H, E]       gru.w_x [E + D, 3H], rows 0..E, transposed
 *   gru.w_x.embed.scale      float32   [3H]
 *   gru.w_x.vector           int8      [3H, D]       gru.w_x rows E..E+D, transposed
 *   gru.w_x.vector.scale     float32   [3H]
 *   gru.b_x                  float32   [3H]
 *   gru.w_h                  int8      [3H, H]       gru.w_h [H, 3H] transposed
 *   gru.w_h.scale            float32   [3H]
 *   gru.b_h                  float32   [3H]
 *   head.w                   int8      [V, H]        head.w [H, V] transposed
 *   head.w.scale             float32   [V]
 *   head.b                   float32   [V]
 *
 * Loading checks every name, dtype, shape and offset, that scales are positive and finite and biases finite,
 * and the weights' size and FNV-1a; errors name the file, the tensor and the expected shape.
 *
 * Runners: the core (core-decoder.ts) packs the stored codes and scales as they are, so its logits are bit for
 * bit those it gives when it quantises the f32 file at load (both go through quantizeDecoderWeights below). The
 * float64 reference, TF.js and the core in f32 read `model.tensors`: the dequantised weights q * scale in the f32
 * layout, made on first use (a Worker that only runs the core INT8 never makes them).
 */
import { z } from "zod";
import { quantizePerRow } from "../core/packed-linear.ts";
import type { TensorMap } from "../lvm/model-format.ts";
import { fnv1a } from "../math/fnv1a.ts";
import { nonNegativeInt, parseJsonFile } from "../validate/parse-file.ts";
import {
  type DecoderConfig,
  DecoderFormatError,
  type DecoderInt8Weights,
  DecoderManifestSchema,
  type DecoderModel,
  type Int8Rows,
} from "./model-format.ts";

export const DECODER_INT8_VERSION = 2;
export const DECODER_INT8_SCHEME = "int8-per-output-row";

const WeightsRecordSchema = z.object({ bytes: nonNegativeInt(), fnv1a: nonNegativeInt() });

export const DecoderInt8ManifestSchema = DecoderManifestSchema.extend({
  version: z.literal(DECODER_INT8_VERSION, { error: `expected ${DECODER_INT8_VERSION} for an INT8 decoder` }),
  precision: z.literal("int8", { error: 'expected "int8"' }),
  quantization: z.object({
    scheme: z.literal(DECODER_INT8_SCHEME, { error: `expected "${DECODER_INT8_SCHEME}"` }),
    source: z.string().optional(),
    sourceWeights: WeightsRecordSchema.optional(),
  }),
  tensors: z.array(
    z.object({
      name: z.string().min(1),
      dtype: z.enum(["int8", "float32"], { error: 'expected "int8" or "float32"' }),
      shape: z.array(nonNegativeInt()),
      offset: nonNegativeInt(),
    }),
  ),
});
export type DecoderInt8Manifest = z.infer<typeof DecoderInt8ManifestSchema>;

type MatrixName = keyof DecoderInt8Weights["matrices"];
type BiasName = keyof DecoderInt8Weights["biases"];

/** The INT8 file's tensors in file order (the table above). */
export function int8TensorLayout(c: DecoderConfig): { name: string; dtype: "int8" | "float32"; shape: number[] }[] {
  const { vocab: V, dim: D, embed: E, hidden: H } = c;
  const matrix = (name: MatrixName, out: number, inDim: number) => [
    { name, dtype: "int8" as const, shape: [out, inDim] },
    { name: `${name}.scale`, dtype: "float32" as const, shape: [out] },
  ];
  const bias = (name: BiasName, n: number) => ({ name, dtype: "float32" as const, shape: [n] });
  return [
    ...matrix("embed.tokens", V, E),
    ...matrix("cond.w", H, D),
    bias("cond.b", H),
    ...matrix("gru.w_x.embed", 3 * H, E),
    ...matrix("gru.w_x.vector", 3 * H, D),
    bias("gru.b_x", 3 * H),
    ...matrix("gru.w_h", 3 * H, H),
    bias("gru.b_h", 3 * H),
    ...matrix("head.w", V, H),
    bias("head.b", V),
  ];
}

/** Rows [r0, r1) of a [in, out] matrix, transposed to [out, r1 - r0]. */
export function transposeRows(data: Float32Array, outDim: number, r0: number, r1: number): Float32Array {
  const inDim = r1 - r0;
  const t = new Float32Array(outDim * inDim);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) t[o * inDim + i] = data[(r0 + i) * outDim + o];
  return t;
}

/** The INT8 weights of a float32 model, exactly as the core quantises them at load (and as the file stores them). */
export function quantizeDecoderWeights(model: DecoderModel): DecoderInt8Weights {
  const { vocab: V, dim: D, embed: E, hidden: H } = model.config;
  const t = (name: string) => {
    const x = model.tensors.get(name);
    if (!x) throw new DecoderFormatError(`decoder has no tensor '${name}'`);
    return x.data;
  };
  const rows = (w: Float32Array, outDim: number, inDim: number): Int8Rows => ({ outDim, inDim, ...quantizePerRow(w, outDim, inDim) });
  return {
    matrices: {
      "embed.tokens": rows(t("embed.tokens"), V, E),
      "cond.w": rows(transposeRows(t("cond.w"), H, 0, D), H, D),
      "gru.w_x.embed": rows(transposeRows(t("gru.w_x"), 3 * H, 0, E), 3 * H, E),
      "gru.w_x.vector": rows(transposeRows(t("gru.w_x"), 3 * H, E, E + D), 3 * H, D),
      "gru.w_h": rows(transposeRows(t("gru.w_h"), 3 * H, 0, H), 3 * H, H),
      "head.w": rows(transposeRows(t("head.w"), V, 0, H), V, H),
    },
    biases: {
      "cond.b": t("cond.b").slice(),
      "gru.b_x": t("gru.b_x").slice(),
      "gru.b_h": t("gru.b_h").slice(),
      "head.b": t("head.b").slice(),
    },
  };
}

/** q [out, in] * scales -> rows r0.. of an f32 [in, out] matrix `into` (out columns). */
function dequantizeInto(m: Int8Rows, into: Float32Array, r0: number): void {
  for (let o = 0; o < m.outDim; o++) for (let i = 0; i < m.inDim; i++) into[(r0 + i) * m.outDim + o] = m.q[o * m.inDim + i] * m.scales[o];
}

/** The float32 tensors (f32 layout, model-format.ts) the INT8 weights stand for: q * scale. For the reference. */
export function dequantizeDecoderWeights(c: DecoderConfig, w: DecoderInt8Weights): TensorMap {
  const { vocab: V, dim: D, embed: E, hidden: H } = c;
  const tensors: TensorMap = new Map();
  const embed = new Float32Array(V * E);
  const m = w.matrices;
  for (let v = 0; v < V; v++) for (let j = 0; j < E; j++) embed[v * E + j] = m["embed.tokens"].q[v * E + j] * m["embed.tokens"].scales[v];
  const cond = new Float32Array(D * H);
  dequantizeInto(m["cond.w"], cond, 0);
  const wx = new Float32Array((E + D) * 3 * H);
  dequantizeInto(m["gru.w_x.embed"], wx, 0);
  dequantizeInto(m["gru.w_x.vector"], wx, E);
  const wh = new Float32Array(H * 3 * H);
  dequantizeInto(m["gru.w_h"], wh, 0);
  const head = new Float32Array(H * V);
  dequantizeInto(m["head.w"], head, 0);
  const b = w.biases;
  // Insertion order as initDecoderTensors / decoderTensorShapes, so encodeDecoder writes the usual layout.
  tensors.set("embed.tokens", { shape: [V, E], data: embed });
  tensors.set("cond.w", { shape: [D, H], data: cond });
  tensors.set("cond.b", { shape: [H], data: b["cond.b"].slice() });
  tensors.set("gru.w_x", { shape: [E + D, 3 * H], data: wx });
  tensors.set("gru.b_x", { shape: [3 * H], data: b["gru.b_x"].slice() });
  tensors.set("gru.w_h", { shape: [H, 3 * H], data: wh });
  tensors.set("gru.b_h", { shape: [3 * H], data: b["gru.b_h"].slice() });
  tensors.set("head.w", { shape: [H, V], data: head });
  tensors.set("head.b", { shape: [V], data: b["head.b"].slice() });
  return tensors;
}

/** A DecoderModel over INT8 weights; `tensors` (dequantised) is made on first use and kept. */
export function int8DecoderModel(config: DecoderConfig, int8: DecoderInt8Weights): DecoderModel {
  let tensors: TensorMap | null = null;
  return {
    config,
    int8,
    get tensors() {
      tensors ??= dequantizeDecoderWeights(config, int8);
      return tensors;
    },
  };
}

/** The INT8 directory's model.json and weights.bin bytes. */
export function encodeInt8Decoder(
  config: DecoderConfig,
  weights: DecoderInt8Weights,
  encoder: { id: string; dim: number },
  training: Record<string, unknown>,
  quantization: { source?: string; sourceWeights?: { bytes: number; fnv1a: number } } = {},
): { manifest: DecoderInt8Manifest; bytes: Uint8Array } {
  const layout = int8TensorLayout(config);
  const data = (name: string): Int8Array | Float32Array => {
    const [base, scale] = name.endsWith(".scale") ? [name.slice(0, -6), true] : [name, false];
    const m = weights.matrices[base as MatrixName];
    if (m) return scale ? m.scales : m.q;
    const b = weights.biases[name as BiasName];
    if (!b) throw new DecoderFormatError(`INT8 decoder weights have no '${name}'`);
    return b;
  };
  const tensors: DecoderInt8Manifest["tensors"] = [];
  const parts: (Int8Array | Float32Array)[] = [];
  let offset = 0;
  for (const t of layout) {
    const d = data(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (d.length !== n || (t.dtype === "int8") !== d instanceof Int8Array)
      throw new DecoderFormatError(`INT8 decoder weights: '${t.name}' holds ${d.length} values, expected ${t.dtype} [${t.shape}]`);
    tensors.push({ ...t, offset });
    parts.push(d);
    offset += Math.ceil(d.byteLength / 4) * 4;
  }
  const bytes = new Uint8Array(offset);
  const view = new DataView(bytes.buffer);
  parts.forEach((d, i) => {
    const at = tensors[i].offset;
    if (d instanceof Int8Array) bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    else for (let k = 0; k < d.length; k++) view.setFloat32(at + 4 * k, d[k], true);
  });
  const manifest: DecoderInt8Manifest = {
    format: "lvm-edge-decoder",
    version: DECODER_INT8_VERSION,
    precision: "int8",
    quantization: { scheme: DECODER_INT8_SCHEME, ...quantization },
    config,
    encoder,
    tensors,
    weights: { bytes: bytes.length, fnv1a: fnv1a(bytes) },
    training,
  };
  return { manifest, bytes };
}

/** model.json text + weights.bin bytes of an INT8 directory -> the model; errors name the file, tensor and shape. */
export function decodeInt8Decoder(
  json: string,
  weights: Uint8Array,
  where: string,
): { manifest: DecoderInt8Manifest; model: DecoderModel } {
  const manifest = parseJsonFile(DecoderInt8ManifestSchema, json, `${where}/model.json`, (m) => new DecoderFormatError(m));
  if (manifest.weights.bytes !== weights.length || manifest.weights.fnv1a !== fnv1a(weights))
    throw new DecoderFormatError(
      `${where}/weights.bin (${weights.length} bytes) is not the file model.json was written with (${manifest.weights.bytes} bytes): write the model again`,
    );
  const c = manifest.config;
  const layout = int8TensorLayout(c);
  const entries = new Map(manifest.tensors.map((t) => [t.name, t]));
  const extra = manifest.tensors.find((t) => !layout.some((l) => l.name === t.name));
  if (extra) throw new DecoderFormatError(`${where}/model.json: tensors: unexpected tensor '${extra.name}' for an INT8 decoder`);
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const read = new Map<string, Int8Array | Float32Array>();
  for (const want of layout) {
    const t = entries.get(want.name);
    const expected = `expected ${want.dtype} [${want.shape}]`;
    if (!t) throw new DecoderFormatError(`${where}/model.json: tensors: missing '${want.name}' (${expected})`);
    if (t.dtype !== want.dtype || t.shape.join(",") !== want.shape.join(","))
      throw new DecoderFormatError(`${where}/model.json: tensors: '${t.name}' is ${t.dtype} [${t.shape}], ${expected}`);
    const n = want.shape.reduce((a, b) => a * b, 1);
    const size = n * (want.dtype === "int8" ? 1 : 4);
    if (t.offset % 4 !== 0)
      throw new DecoderFormatError(`${where}/model.json: tensors: '${t.name}' offset ${t.offset} is not a multiple of 4`);
    if (t.offset + size > weights.length)
      throw new DecoderFormatError(
        `${where}/model.json: tensors: '${t.name}' ${expected} at ${t.offset} runs past weights.bin (${weights.length} bytes)`,
      );
    if (want.dtype === "int8") {
      read.set(t.name, new Int8Array(weights.buffer, weights.byteOffset + t.offset, n).slice());
      continue;
    }
    const data = new Float32Array(n);
    const isScale = t.name.endsWith(".scale");
    for (let i = 0; i < n; i++) {
      const x = view.getFloat32(t.offset + 4 * i, true);
      if (!Number.isFinite(x) || (isScale && x <= 0))
        throw new DecoderFormatError(
          `${where}/weights.bin: '${t.name}'[${i}] is ${x}, expected a ${isScale ? "positive finite scale" : "finite number"}`,
        );
      data[i] = x;
    }
    read.set(t.name, data);
  }
  const rows = (name: MatrixName): Int8Rows => {
    const q = read.get(name) as Int8Array;
    const scales = read.get(`${name}.scale`) as Float32Array;
    return { outDim: scales.length, inDim: q.length / scales.length, q, scales };
  };
  const int8: DecoderInt8Weights = {
    matrices: {
      "embed.tokens": rows("embed.tokens"),
      "cond.w": rows("cond.w"),
      "gru.w_x.embed": rows("gru.w_x.embed"),
      "gru.w_x.vector": rows("gru.w_x.vector"),
      "gru.w_h": rows("gru.w_h"),
      "head.w": rows("head.w"),
    },
    biases: {
      "cond.b": read.get("cond.b") as Float32Array,
      "gru.b_x": read.get("gru.b_x") as Float32Array,
      "gru.b_h": read.get("gru.b_h") as Float32Array,
      "head.b": read.get("head.b") as Float32Array,
    },
  };
  return { manifest, model: int8DecoderModel(c, int8) };
}
