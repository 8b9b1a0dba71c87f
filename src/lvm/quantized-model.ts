/**
 * INT8 model files (`lvm quantize`): the model-directory format of src/lvm/model-format.ts with
 * `quantization: {scheme: "int8-per-output-channel"}` in model.json. Every weight matrix [in, out] is
 * stored as int8 codes (dtype "int8", row-major [in, out]) plus a float32 tensor `<name>.scale` [out]:
 * W[i, o] ~= code[i, o] * scale[o]. Biases, norms and position embeddings stay float32.
 *
 * Per output channel is what the core computes with (one scale per output row of [out, in]), so the core
 * re-derives exactly these codes from the dequantised weights: the file and the runtime agree.
 */
import type { ModelManifest, TensorEntry, TensorMap } from "./model-format.ts";
import { decodeTensors, ModelFormatError, tensorSize, weightsRecord } from "./model-format.ts";

export const QUANT_SCHEME = "int8-per-output-channel";

export interface QuantizedEntry {
  name: string;
  shape: number[];
  offset: number;
  dtype: "int8" | "float32";
}

export type QuantizedManifest = Omit<ModelManifest, "tensors"> & {
  quantization: { scheme: typeof QUANT_SCHEME; source?: string };
  tensors: QuantizedEntry[];
};

/** Weight matrices get INT8; position embeddings are added, not multiplied, so they keep float32. */
function isWeightMatrix(name: string, shape: number[]): boolean {
  return shape.length === 2 && name !== "embed.pos";
}

/** The INT8 model of a float one: its manifest (weights recorded) and weights.bin bytes. */
export function quantizeModel(
  manifest: ModelManifest,
  tensors: TensorMap,
  source?: string,
): { manifest: QuantizedManifest; bytes: Uint8Array } {
  const { entries, bytes } = quantizeTensors(tensors);
  return {
    manifest: { ...manifest, quantization: { scheme: QUANT_SCHEME, source }, tensors: entries, weights: weightsRecord(bytes) },
    bytes,
  };
}

export function quantizeTensors(tensors: TensorMap): { entries: QuantizedEntry[]; bytes: Uint8Array } {
  const parts: { entry: Omit<QuantizedEntry, "offset">; data: Uint8Array }[] = [];
  for (const [name, t] of tensors) {
    if (!isWeightMatrix(name, t.shape)) {
      parts.push({ entry: { name, shape: t.shape, dtype: "float32" }, data: new Uint8Array(Float32Array.from(t.data).buffer) });
      continue;
    }
    const [rows, cols] = t.shape;
    const scales = new Float32Array(cols);
    for (let i = 0; i < rows; i++) for (let o = 0; o < cols; o++) scales[o] = Math.max(scales[o], Math.abs(t.data[i * cols + o]));
    for (let o = 0; o < cols; o++) scales[o] = scales[o] > 0 ? scales[o] / 127 : 1;
    const codes = new Int8Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let o = 0; o < cols; o++) codes[i * cols + o] = Math.round(t.data[i * cols + o] / scales[o]);
    parts.push({ entry: { name, shape: t.shape, dtype: "int8" }, data: new Uint8Array(codes.buffer) });
    parts.push({ entry: { name: `${name}.scale`, shape: [cols], dtype: "float32" }, data: new Uint8Array(scales.buffer) });
  }
  let total = 0;
  const entries: QuantizedEntry[] = parts.map((p) => {
    total = Math.ceil(total / 4) * 4; // float32 tensors start 4-byte aligned
    const entry = { ...p.entry, offset: total };
    total += p.data.length;
    return entry;
  });
  const bytes = new Uint8Array(Math.ceil(total / 4) * 4);
  parts.forEach((p, i) => {
    bytes.set(p.data, entries[i].offset);
  });
  return { entries, bytes };
}

export function isQuantized(manifest: object): manifest is QuantizedManifest {
  const q = (manifest as { quantization?: unknown }).quantization;
  return typeof q === "object" && q !== null;
}

/** INT8 file → the float tensors it stands for (codes x scales), for the reference and the core. */
export function dequantizeTensors(manifest: QuantizedManifest, weights: Uint8Array): TensorMap {
  if (manifest.quantization.scheme !== QUANT_SCHEME)
    throw new ModelFormatError(`unsupported quantization scheme '${manifest.quantization.scheme}'`);
  const floats = manifest.tensors.filter((t) => t.dtype === "float32") as TensorEntry[];
  const plain = decodeTensors({ ...manifest, tensors: floats } as unknown as ModelManifest, weights);
  const tensors: TensorMap = new Map();
  for (const t of manifest.tensors) {
    if (t.dtype === "float32") {
      if (!t.name.endsWith(".scale") || !manifest.tensors.some((m) => m.dtype === "int8" && `${m.name}.scale` === t.name))
        tensors.set(t.name, plain.get(t.name)!);
      continue;
    }
    const n = tensorSize(t.shape);
    if (t.offset + n > weights.byteLength)
      throw new ModelFormatError(`tensor ${t.name} [${t.shape}] runs past weights.bin (${weights.byteLength} bytes)`);
    const codes = new Int8Array(weights.buffer, weights.byteOffset + t.offset, n);
    const scale = plain.get(`${t.name}.scale`);
    if (!scale) throw new ModelFormatError(`INT8 tensor ${t.name} has no ${t.name}.scale`);
    const cols = t.shape[1];
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = codes[i] * scale.data[i % cols];
    tensors.set(t.name, { shape: t.shape, data });
  }
  return tensors;
}
