/**
 * The on-disk LVM model format (runtime-agnostic: no fs here; see read-model.ts for Node).
 *
 * A model directory holds two files:
 *
 *   model.json   the manifest below (ModelManifest), UTF-8 JSON
 *   weights.bin  every tensor as little-endian float32, concatenated in the order of `tensors`;
 *                `offset` is the byte offset of a tensor in weights.bin, its byte length is 4 * product(shape)
 *
 * All matrices are stored row-major as [in, out] and applied as y = x @ W + b (x a row vector), so a
 * [512, 1536] matrix maps a 512-vector to a 1536-vector. The tensor names and the exact equations of every
 * layer are in architectures.ts (names, shapes) and reference.ts (equations, one plain function per layer).
 *
 * Every architecture reads a window of `config.context` (5) unit concept vectors of `config.dim` values,
 * oldest first, and outputs one unit vector of `config.dim` values: the predicted next concept.
 *
 *   raw  = head(h)                       (+ last context vector when config.residual is true)
 *   pred = raw / ||raw||
 *   out  = blend ? normalize((1 - w) * pred + w * last) : pred      with w = blend.lastWeight
 *
 * `blend.lastWeight` is chosen on the validation split after training (never on test) and is part of the
 * model: every runtime must apply it.
 *
 * `retrieval.hubness` (optional) is how the model's prediction is searched: stored concepts are ranked by
 * cosine - weight * hub(c), hub(c) being c's mean cosine to its `neighbours` nearest stored concepts
 * (src/index/hubness.ts). Chosen on validation with the blend (`lvm train`, `lvm tune`); absent = plain cosine.
 *
 * `split` records how the training store's documents were divided (article-disjoint), so evaluation never
 * scores a model on documents it was trained or tuned on.
 *
 * `weights` ({bytes, fnv1a}, written by every writer since it was added; optional for older files) ties
 * model.json to its weights.bin: the two files are renamed one after the other, so a kill between the renames
 * could otherwise pair new weights with an old manifest of the same size. Loading checks it (checkWeights).
 *
 * model.json is checked against ModelManifestSchema below when read (parseModelManifest).
 */
import { z } from "zod";
import { fnv1a } from "../math/fnv1a.ts";
import { nonNegativeInt, parseJsonFile, positiveInt, validateFile } from "../validate/parse-file.ts";

export const MODEL_FORMAT = "lvm-edge-model";
export const MODEL_VERSION = 1;

const positive = positiveInt;

/** Recurrent models: `layers` stacked cells of `hidden` units; the head reads the last layer's last state. */
export const RecurrentConfigSchema = z.object({
  arch: z.enum(["gru", "lstm"]),
  dim: positive(),
  context: positive(),
  hidden: positive(),
  layers: positive(),
  residual: z.boolean(),
});

/** Pre-LN Transformer encoder over the `context` positions with learned position embeddings. */
export const TransformerConfigSchema = z.object({
  arch: z.literal("transformer"),
  dim: positive(),
  context: positive(),
  /** Model width (d_model). */
  width: positive(),
  layers: positive(),
  heads: positive(),
  /** Feed-forward inner width. */
  ffn: positive(),
  residual: z.boolean(),
});

export const ModelConfigSchema = z.discriminatedUnion("arch", [RecurrentConfigSchema, TransformerConfigSchema]);

export const TensorEntrySchema = z.object({
  name: z.string().min(1),
  shape: z.array(nonNegativeInt()),
  /** Byte offset in weights.bin. */
  offset: nonNegativeInt(),
  /** "int8" only in INT8 files (quantized-model.ts). */
  dtype: z.enum(["float32", "int8"]),
});

/** An extra store whose every document was training data (lvm train --extra-store), as it was when training began. */
export const ExtraStoreRecordSchema = z.object({
  store: z.string(),
  documents: nonNegativeInt(),
  count: nonNegativeInt(),
  documentsFnv1a: nonNegativeInt(),
});
export type ExtraStoreRecord = z.infer<typeof ExtraStoreRecordSchema>;

export const SplitRecordSchema = z.object({
  seed: z.number(),
  /** Fractions of documents in train / val / test. */
  fractions: z.tuple([z.number(), z.number(), z.number()]),
  /** The store the split was drawn from: encoder and document count, for a sanity check. */
  storeDocuments: nonNegativeInt(),
  /** FNV-1a of the store's document ids in store order (windows.ts documentsFingerprint); absent in older models. */
  documentsFnv1a: nonNegativeInt().optional(),
  train: z.array(z.string()),
  val: z.array(z.string()),
  test: z.array(z.string()),
  /** Extra stores whose every document was training data, and their document ids (absent = none). */
  extraStores: z.array(ExtraStoreRecordSchema).optional(),
  extraTrain: z.array(z.string()).optional(),
});

/** The hubness penalty a model's predictions are searched with (src/index/hubness.ts). */
export const HubnessSettingsSchema = z.object({ neighbours: positive(), weight: z.number().min(0).max(4) });
export type HubnessSettings = z.infer<typeof HubnessSettingsSchema>;

/** model.json. */
export const ModelManifestSchema = z.object({
  format: z.literal(MODEL_FORMAT, { error: `expected "${MODEL_FORMAT}" (not an lvm-edge model)` }),
  version: z.literal(MODEL_VERSION, { error: `expected model version ${MODEL_VERSION} (the only one this build reads)` }),
  arch: z.enum(["gru", "lstm", "transformer"]),
  config: ModelConfigSchema,
  encoder: z.object({ id: z.string().min(1), dim: positive() }),
  blend: z.object({ lastWeight: z.number().min(0).max(1) }).optional(),
  retrieval: z.object({ hubness: HubnessSettingsSchema }).optional(),
  tensors: z.array(TensorEntrySchema),
  training: z.record(z.string(), z.unknown()),
  split: SplitRecordSchema,
  metrics: z.record(z.string(), z.unknown()).optional(),
  weights: z.object({ bytes: nonNegativeInt(), fnv1a: nonNegativeInt() }).optional(),
});

export type Arch = ModelManifest["arch"];
export type RecurrentConfig = z.infer<typeof RecurrentConfigSchema>;
export type TransformerConfig = z.infer<typeof TransformerConfigSchema>;
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type TensorEntry = z.infer<typeof TensorEntrySchema>;
export type SplitRecord = z.infer<typeof SplitRecordSchema>;
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/**
 * model.json text → manifest; errors name `where` and the field ("model.json: config.hidden: expected ...").
 * Fields the schema does not know (e.g. `quantization`, see quantized-model.ts) are kept.
 */
export function parseModelManifest(json: string, where: string): ModelManifest {
  const value = parseJsonFile(z.unknown(), json, where, (m) => new ModelFormatError(m));
  validateFile(ModelManifestSchema, value, where, (m) => new ModelFormatError(m));
  return value as ModelManifest;
}

export class ModelFormatError extends Error {
  override name = "ModelFormatError";
}

/** Named float32 tensors, in manifest order. */
export type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

export function tensorSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** What model.json records of its weights.bin. */
export function weightsRecord(weights: Uint8Array): { bytes: number; fnv1a: number } {
  return { bytes: weights.byteLength, fnv1a: fnv1a(weights) };
}

/** Refuses weights.bin bytes that are not the ones model.json was written with (where it records them). */
export function checkWeights(manifest: Pick<ModelManifest, "weights">, weights: Uint8Array): void {
  const want = manifest.weights;
  if (!want) return;
  const got = weightsRecord(weights);
  if (got.bytes !== want.bytes || got.fnv1a !== want.fnv1a)
    throw new ModelFormatError(
      `weights.bin (${got.bytes} bytes, checksum ${got.fnv1a}) is not the file model.json was written with (${want.bytes} bytes, checksum ${want.fnv1a}): the model directory was changed or its writing interrupted; write it again`,
    );
}

/** Checks a manifest and cuts weights.bin into named tensors (copies, so the data are aligned). */
export function decodeTensors(manifest: ModelManifest, weights: Uint8Array): TensorMap {
  if (manifest.format !== MODEL_FORMAT) throw new ModelFormatError(`not an lvm-edge model (format '${manifest.format}')`);
  if (manifest.version !== MODEL_VERSION) throw new ModelFormatError(`unsupported model version ${manifest.version}`);
  const tensors: TensorMap = new Map();
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  for (const t of manifest.tensors) {
    if (t.dtype !== "float32") throw new ModelFormatError(`tensor ${t.name}: unsupported dtype ${t.dtype}`);
    const n = tensorSize(t.shape);
    if (t.offset < 0 || t.offset + 4 * n > weights.byteLength) {
      throw new ModelFormatError(`tensor ${t.name} [${t.shape}] at ${t.offset} runs past weights.bin (${weights.byteLength} bytes)`);
    }
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(t.offset + 4 * i, true);
    tensors.set(t.name, { shape: t.shape, data });
  }
  return tensors;
}

/** Concatenates tensors into weights.bin bytes and returns the matching manifest entries. */
export function encodeTensors(tensors: TensorMap): { entries: TensorEntry[]; bytes: Uint8Array } {
  let total = 0;
  for (const t of tensors.values()) total += 4 * t.data.length;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== tensorSize(t.shape)) throw new ModelFormatError(`tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    entries.push({ name, shape: t.shape, offset, dtype: "float32" });
    for (let i = 0; i < t.data.length; i++) view.setFloat32(offset + 4 * i, t.data[i], true);
    offset += 4 * t.data.length;
  }
  return { entries, bytes };
}
