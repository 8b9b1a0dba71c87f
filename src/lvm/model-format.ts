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
 * `split` records how the training store's documents were divided (article-disjoint), so evaluation never
 * scores a model on documents it was trained or tuned on.
 */

export const MODEL_FORMAT = "lvm-edge-model";
export const MODEL_VERSION = 1;

export type Arch = "gru" | "lstm" | "transformer";

/** Recurrent models: `layers` stacked cells of `hidden` units; the head reads the last layer's last state. */
export interface RecurrentConfig {
  arch: "gru" | "lstm";
  dim: number;
  context: number;
  hidden: number;
  layers: number;
  residual: boolean;
}

/** Pre-LN Transformer encoder over the `context` positions with learned position embeddings. */
export interface TransformerConfig {
  arch: "transformer";
  dim: number;
  context: number;
  /** Model width (d_model). */
  width: number;
  layers: number;
  heads: number;
  /** Feed-forward inner width. */
  ffn: number;
  residual: boolean;
}

export type ModelConfig = RecurrentConfig | TransformerConfig;

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Byte offset in weights.bin. */
  offset: number;
  dtype: "float32";
}

export interface SplitRecord {
  seed: number;
  /** Fractions of documents in train / val / test. */
  fractions: [number, number, number];
  /** The store the split was drawn from: encoder and document count, for a sanity check. */
  storeDocuments: number;
  train: string[];
  val: string[];
  test: string[];
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  arch: Arch;
  config: ModelConfig;
  encoder: { id: string; dim: number };
  blend?: { lastWeight: number };
  tensors: TensorEntry[];
  training: Record<string, unknown>;
  split: SplitRecord;
  metrics?: Record<string, unknown>;
}

export class ModelFormatError extends Error {
  override name = "ModelFormatError";
}

/** Named float32 tensors, in manifest order. */
export type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

export function tensorSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
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
