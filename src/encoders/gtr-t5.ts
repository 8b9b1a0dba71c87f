/**
 * GTR-T5 (sentence-transformers/gtr-t5-base): ids, the on-disk layout of models/<name>/, and the parts of the
 * encoder that are plain arithmetic (mean pooling, the Dense head, L2 normalisation, safetensors reading).
 * No runtime dependency here: the transformers.js part is gtr-t5-encoder.ts, the Node part gtr-t5-node.ts.
 *
 * GTR is the T5 *encoder* (no decoder), mean-pooled over the attention mask, then one of two heads:
 *   - "sentence-transformers": the 768 x 768 Dense layer (2_Dense), then L2 normalisation. What
 *     SentenceTransformer("sentence-transformers/gtr-t5-base").encode() returns. Encoder id "gtr-t5-base".
 *   - "vec2text": the mean-pooled encoder output as is (no Dense, no normalisation, at most 128 tokens), what
 *     vec2text's GTR inversion models were trained on. Encoder id "gtr-t5-base+vec2text".
 * The head is part of the encoder id recorded in a store: the two spaces are not comparable.
 */
import { z } from "zod";
import { parseJsonFile, validateFile } from "../validate/parse-file.ts";

export const GTR_T5_BASE = "gtr-t5-base";
export const GTR_T5_DIM = 768;

export type GtrHead = "sentence-transformers" | "vec2text";
const VEC2TEXT_SUFFIX = "+vec2text";

export const GTR_T5_BASE_ID = GTR_T5_BASE;
export const GTR_T5_BASE_VEC2TEXT_ID = `${GTR_T5_BASE}${VEC2TEXT_SUFFIX}`;

/** Token limits: sentence_bert_config.json's max_seq_length for the sentence-transformers head, vec2text's 128. */
export const GTR_MAX_TOKENS: Record<GtrHead, number> = { "sentence-transformers": 512, vec2text: 128 };

export function gtrEncoderId(model: string, head: GtrHead): string {
  return head === "vec2text" ? `${model}${VEC2TEXT_SUFFIX}` : model;
}

/** "gtr-t5-base" -> sentence-transformers head, "gtr-t5-base+vec2text" -> vec2text head, same model folder. */
export function parseGtrEncoderId(id: string): { model: string; head: GtrHead } {
  return id.endsWith(VEC2TEXT_SUFFIX)
    ? { model: id.slice(0, -VEC2TEXT_SUFFIX.length), head: "vec2text" }
    : { model: id, head: "sentence-transformers" };
}

/** ONNX encoder variants, by transformers.js dtype: the file names it derives from `onnx/model` + suffix. */
export const GTR_ONNX_FILES = { q8: "onnx/model_quantized.onnx", fp32: "onnx/model.onnx", fp16: "onnx/model_fp16.onnx" } as const;
export type GtrDtype = keyof typeof GTR_ONNX_FILES;

/** The files of models/<name>/ the encoder reads, with what each is for (named in "missing file" errors). */
export const GTR_FILES = {
  config: { path: "config.json", purpose: "the T5 encoder configuration" },
  tokenizer: { path: "tokenizer.json", purpose: "the SentencePiece (Unigram) tokenizer" },
  tokenizerConfig: { path: "tokenizer_config.json", purpose: "the tokenizer settings" },
  denseConfig: { path: "2_Dense/config.json", purpose: "the Dense head's shape (sentence-transformers head)" },
  denseWeights: { path: "2_Dense/model.safetensors", purpose: "the Dense head's weights (sentence-transformers head)" },
  pooling: { path: "1_Pooling/config.json", purpose: "the pooling mode (optional)" },
  sentenceBert: { path: "sentence_bert_config.json", purpose: "max_seq_length (optional)" },
} as const;

/** A model folder's files, wherever they live (a directory on Node, a URL prefix in a browser). */
export interface ModelFiles {
  /** Where `path` is, for messages: an absolute file path or URL. */
  locate(path: string): string;
  exists(path: string): Promise<boolean>;
  read(path: string): Promise<Uint8Array>;
}

export class GtrModelMissingError extends Error {
  override name = "GtrModelMissingError";
}

/** The message for a missing file: the file, what it is for, and the command that fetches it. */
export function missingFileMessage(id: string, files: ModelFiles, path: string, purpose: string, model: string): string {
  return `encoder '${id}': missing ${files.locate(path)} (${purpose}). Fetch the model with: lvm models pull ${model}`;
}

/**
 * Mean over the positions where `mask` is 1 (sentence-transformers' Pooling with pooling_mode_mean_tokens):
 * hidden [batch, seq, dim] row-major -> [batch, dim].
 */
export function meanPool(hidden: Float32Array, mask: ArrayLike<number | bigint>, batch: number, seq: number, dim: number): Float32Array {
  const out = new Float32Array(batch * dim);
  const acc = new Float64Array(dim);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < seq; t++) {
      if (Number(mask[b * seq + t]) === 0) continue;
      count++;
      const base = (b * seq + t) * dim;
      for (let j = 0; j < dim; j++) acc[j] += hidden[base + j];
    }
    const inv = 1 / Math.max(count, 1e-9);
    for (let j = 0; j < dim; j++) out[b * dim + j] = acc[j] * inv;
  }
  return out;
}

export interface DenseLayer {
  inFeatures: number;
  outFeatures: number;
  /** torch.nn.Linear layout: [out, in] row-major. */
  weight: Float32Array;
  bias?: Float32Array;
  activation: "identity" | "tanh";
}

/** y = act(W x + b) per row: [rows, in] -> [rows, out]. */
export function applyDense(dense: DenseLayer, x: Float32Array, rows: number): Float32Array {
  const { inFeatures: n, outFeatures: m, weight, bias } = dense;
  const y = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++) {
    const xr = x.subarray(r * n, (r + 1) * n);
    for (let o = 0; o < m; o++) {
      const w = weight.subarray(o * n, (o + 1) * n);
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < n; i++) s += w[i] * xr[i];
      y[r * m + o] = dense.activation === "tanh" ? Math.tanh(s) : s;
    }
  }
  return y;
}

/** L2-normalises each row in place (a zero row stays zero, as torch.nn.functional.normalize leaves it). */
export function l2NormalizeRows(x: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < x.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[r * dim + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < dim; j++) x[r * dim + j] *= inv;
  }
  return x;
}

/** sentence-transformers' 2_Dense/config.json -> the layer's shape and activation. */
export function parseDenseConfig(json: unknown): Omit<DenseLayer, "weight" | "bias"> & { hasBias: boolean } {
  const c = json as { in_features?: number; out_features?: number; bias?: boolean; activation_function?: string };
  if (!Number.isInteger(c.in_features) || !Number.isInteger(c.out_features))
    throw new Error("2_Dense/config.json: in_features and out_features must be integers");
  const act = c.activation_function ?? "torch.nn.modules.linear.Identity";
  let activation: DenseLayer["activation"];
  if (act.endsWith(".Identity")) activation = "identity";
  else if (act.endsWith(".Tanh")) activation = "tanh";
  else throw new Error(`2_Dense/config.json: activation '${act}' is not supported (Identity or Tanh)`);
  return { inFeatures: c.in_features!, outFeatures: c.out_features!, hasBias: c.bias === true, activation };
}

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A .safetensors header (less its free-form __metadata__): tensor name -> dtype, shape, byte range after the header. */
const SafetensorsHeaderSchema = z.record(
  z.string(),
  z.looseObject({ dtype: z.string(), shape: z.array(z.int().min(0)), data_offsets: z.tuple([z.int().min(0), z.int().min(0)]) }),
);

/** The tensors of a .safetensors file (F32, F16 or BF16), as float32. */
export function readSafetensors(bytes: Uint8Array): Map<string, { shape: number[]; data: Float32Array }> {
  if (bytes.length < 8) throw new Error("not a safetensors file (shorter than its header length)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new Error("not a safetensors file (header runs past the end)");
  const { __metadata__: _, ...tensors } = parseJsonFile(
    z.record(z.string(), z.unknown()),
    new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)),
    "safetensors header",
  );
  const header = validateFile(SafetensorsHeaderSchema, tensors, "safetensors header");
  const base = 8 + headerLength;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(header)) {
    const [start, end] = t.data_offsets;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const width = t.dtype === "F32" ? 4 : t.dtype === "F16" || t.dtype === "BF16" ? 2 : 0;
    if (!width) throw new Error(`safetensors tensor '${name}': dtype ${t.dtype} is not supported (F32, F16, BF16)`);
    if (end - start !== n * width || base + end > bytes.length)
      throw new Error(`safetensors tensor '${name}': data does not match its shape`);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const at = base + start + i * width;
      if (t.dtype === "F32") data[i] = view.getFloat32(at, true);
      else if (t.dtype === "F16") data[i] = f16ToF32(view.getUint16(at, true));
      else data[i] = new Float32Array(new Uint32Array([view.getUint16(at, true) << 16]).buffer)[0];
    }
    out.set(name, { shape: t.shape, data });
  }
  return out;
}

/** The Dense layer from its config.json and model.safetensors (tensor `linear.weight` [out, in], optional `linear.bias`). */
export function denseFromFiles(configJson: unknown, safetensors: Uint8Array): DenseLayer {
  const config = parseDenseConfig(configJson);
  const tensors = readSafetensors(safetensors);
  const weight = tensors.get("linear.weight");
  if (!weight) throw new Error(`2_Dense/model.safetensors has no 'linear.weight' (tensors: ${[...tensors.keys()].join(", ")})`);
  if (weight.shape[0] !== config.outFeatures || weight.shape[1] !== config.inFeatures)
    throw new Error(`2_Dense: linear.weight is [${weight.shape}], config says [${config.outFeatures}, ${config.inFeatures}]`);
  const bias = tensors.get("linear.bias")?.data;
  if (config.hasBias && !bias) throw new Error("2_Dense: config has a bias but the weights have no 'linear.bias'");
  return { ...config, weight: weight.data, bias };
}

/** The members of a ZIP archive stored without compression, as torch.save() writes them. */
function zipMembers(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 65535); p--) {
    if (view.getUint32(p, true) === 0x06054b50) {
      end = p;
      break;
    }
  }
  if (end < 0) throw new Error("not a ZIP archive (no end of central directory)");
  const count = view.getUint16(end + 10, true);
  let p = view.getUint32(end + 16, true);
  if (p === 0xffffffff) throw new Error("ZIP64 archives are not supported");
  const members = new Map<string, Uint8Array>();
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error("corrupt ZIP central directory");
    const method = view.getUint16(p + 10, true);
    const size = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const skip = nameLength + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLength));
    if (method !== 0) throw new Error(`ZIP member ${name} is compressed (method ${method}); torch.save writes stored members`);
    if (view.getUint32(local, true) !== 0x04034b50) throw new Error(`corrupt ZIP local header for ${name}`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    members.set(name, bytes.subarray(start, start + size));
    p += 46 + skip;
  }
  return members;
}

export type RawDtype = "F32" | "F16" | "BF16";

/**
 * The one tensor of a torch.save()d state dict holding a single tensor, e.g. an older 2_Dense/pytorch_model.bin
 * (`linear.weight`, no bias): its dtype and raw little-endian bytes. Anything else is refused.
 */
export function readTorchSingleTensor(bytes: Uint8Array, name: string, count: number): { dtype: RawDtype; raw: Uint8Array } {
  const members = zipMembers(bytes);
  const pickle = [...members].find(([n]) => n.endsWith("/data.pkl"))?.[1];
  const storages = [...members].filter(([n]) => /\/data\/\d+$/.test(n));
  if (!pickle) throw new Error("not a torch.save() file (no data.pkl)");
  const text = new TextDecoder("latin1").decode(pickle);
  if (storages.length !== 1 || !text.includes(name))
    throw new Error(
      `expected exactly one tensor '${name}', found ${storages.length} storages; convert it to model.safetensors (docs/gtr-t5.md)`,
    );
  const dtype: RawDtype | undefined = text.includes("BFloat16Storage")
    ? "BF16"
    : text.includes("HalfStorage")
      ? "F16"
      : text.includes("FloatStorage")
        ? "F32"
        : undefined;
  if (!dtype) throw new Error("unsupported torch storage type (float32, float16 or bfloat16 only)");
  const raw = storages[0][1];
  if (raw.length !== count * (dtype === "F32" ? 4 : 2))
    throw new Error(`tensor '${name}': ${raw.length} bytes for ${count} ${dtype} values`);
  return { dtype, raw };
}

/** A .safetensors file holding one tensor given as raw little-endian bytes. */
export function writeSafetensors(name: string, dtype: RawDtype, shape: number[], raw: Uint8Array): Uint8Array {
  let header = JSON.stringify({ __metadata__: { format: "pt" }, [name]: { dtype, shape, data_offsets: [0, raw.length] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + headerBytes.length + raw.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(raw, 8 + headerBytes.length);
  return out;
}
