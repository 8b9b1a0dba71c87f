/**
 * The decoder's sentence file (`lvm decoder-data` writes it, training and evaluation read it). Runtime-agnostic.
 * Little-endian throughout:
 *
 *   offset  bytes        field
 *   0       8            magic "LVMDSENT"
 *   8       4   u32      version (1)
 *   12      4   u32      count N (sentences)
 *   16      4   u32      dim D (vector width, 512 for USE-lite)
 *   20      4   u32      tokens T (token ids in all)
 *   24      4   u32      J: bytes of the JSON header that follows
 *   28      J            UTF-8 JSON header: { encoder: string, articles: string[] (article ids), source: {...} }
 *   ...     0..3         zero padding to a multiple of 4
 *           4 (N + 1)    u32 offsets: sentence i's ids are tokens[offsets[i], offsets[i + 1]); offsets[0] = 0, offsets[N] = T
 *           2 T  u16     token ids (USE-lite SentencePiece, no <s>/</s>); then zero padding to a multiple of 4
 *           4 N  u32     article of each sentence: an index into header.articles
 *           4 N D f32    the sentence's vector (the encoder's output, unit length), row-major
 *
 * readSentenceFile checks every size, offset and index against the header and names the file and field.
 * An item ("sentence" in the field names) may be a whole paragraph (`lvm decoder-data --unit paragraph`, recorded
 * as source.unit): the layout has no length limit per item, so paragraphs need no other format.
 */
import { z } from "zod";
import { validateFile } from "../validate/parse-file.ts";

export const SENTENCE_FILE_MAGIC = "LVMDSENT";
export const SENTENCE_FILE_VERSION = 1;

export interface SentenceSet {
  encoder: string;
  dim: number;
  /** Article ids; `article[i]` indexes them. */
  articles: string[];
  /** Where the sentences came from (corpus, options): kept as written. */
  source: Record<string, unknown>;
  offsets: Uint32Array;
  tokens: Uint16Array;
  article: Uint32Array;
  vectors: Float32Array;
}

const HeaderSchema = z.object({
  encoder: z.string().min(1),
  articles: z.array(z.string()),
  source: z.record(z.string(), z.unknown()),
});

export class SentenceFileError extends Error {
  override name = "SentenceFileError";
}

export function sentenceCount(set: SentenceSet): number {
  return set.offsets.length - 1;
}

export function sentenceIds(set: SentenceSet, i: number): Uint16Array {
  return set.tokens.subarray(set.offsets[i], set.offsets[i + 1]);
}

const pad4 = (n: number) => (n + 3) & ~3;

export function writeSentenceFile(set: SentenceSet): Uint8Array {
  const n = sentenceCount(set);
  const { dim } = set;
  const t = set.tokens.length;
  if (set.offsets[0] !== 0 || set.offsets[n] !== t) throw new SentenceFileError(`offsets must run from 0 to ${t}`);
  if (set.article.length !== n || set.vectors.length !== n * dim)
    throw new SentenceFileError(`expected ${n} article indices and ${n} x ${dim} vector values`);
  const json = new TextEncoder().encode(JSON.stringify({ encoder: set.encoder, articles: set.articles, source: set.source }));
  const headerEnd = pad4(28 + json.length);
  const offsetsAt = headerEnd;
  const tokensAt = offsetsAt + 4 * (n + 1);
  const articleAt = tokensAt + pad4(2 * t);
  const vectorsAt = articleAt + 4 * n;
  const bytes = new Uint8Array(vectorsAt + 4 * n * dim);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(SENTENCE_FILE_MAGIC), 0);
  view.setUint32(8, SENTENCE_FILE_VERSION, true);
  view.setUint32(12, n, true);
  view.setUint32(16, dim, true);
  view.setUint32(20, t, true);
  view.setUint32(24, json.length, true);
  bytes.set(json, 28);
  for (let i = 0; i <= n; i++) view.setUint32(offsetsAt + 4 * i, set.offsets[i], true);
  for (let i = 0; i < t; i++) view.setUint16(tokensAt + 2 * i, set.tokens[i], true);
  for (let i = 0; i < n; i++) view.setUint32(articleAt + 4 * i, set.article[i], true);
  for (let i = 0; i < n * dim; i++) view.setFloat32(vectorsAt + 4 * i, set.vectors[i], true);
  return bytes;
}

export function readSentenceFile(bytes: Uint8Array, where: string): SentenceSet {
  const bad = (field: string, message: string): never => {
    throw new SentenceFileError(`${where}: ${field}: ${message}`);
  };
  if (bytes.length < 28) bad("header", `file has ${bytes.length} bytes, fewer than the 28 of the fixed header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== SENTENCE_FILE_MAGIC)
    bad("magic", `expected "${SENTENCE_FILE_MAGIC}" (not a decoder sentence file), got ${JSON.stringify(magic)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SENTENCE_FILE_VERSION) bad("version", `expected ${SENTENCE_FILE_VERSION}, got ${version}`);
  const n = view.getUint32(12, true);
  const dim = view.getUint32(16, true);
  const t = view.getUint32(20, true);
  const j = view.getUint32(24, true);
  if (dim === 0) bad("dim", "expected a positive integer");
  if (28 + j > bytes.length) bad("header", `JSON header of ${j} bytes runs past the file`);
  let headerValue: unknown;
  try {
    headerValue = JSON.parse(new TextDecoder().decode(bytes.subarray(28, 28 + j)));
  } catch (error) {
    bad("header", `not valid JSON (${(error as Error).message})`);
  }
  const header = validateFile(HeaderSchema, headerValue, `${where} (header)`, (m) => new SentenceFileError(m));
  const offsetsAt = pad4(28 + j);
  const tokensAt = offsetsAt + 4 * (n + 1);
  const articleAt = tokensAt + pad4(2 * t);
  const vectorsAt = articleAt + 4 * n;
  const expected = vectorsAt + 4 * n * dim;
  if (bytes.length !== expected) bad("size", `expected ${expected} bytes for ${n} sentences, ${t} tokens, dim ${dim}; got ${bytes.length}`);
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i <= n; i++) offsets[i] = view.getUint32(offsetsAt + 4 * i, true);
  if (offsets[0] !== 0 || offsets[n] !== t) bad("offsets", `must run from 0 to ${t}, got ${offsets[0]}..${offsets[n]}`);
  for (let i = 0; i < n; i++) if (offsets[i + 1] < offsets[i]) bad(`offsets.${i + 1}`, "offsets must not decrease");
  const tokens = new Uint16Array(t);
  for (let i = 0; i < t; i++) tokens[i] = view.getUint16(tokensAt + 2 * i, true);
  const article = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    article[i] = view.getUint32(articleAt + 4 * i, true);
    if (article[i] >= header.articles.length) bad(`article.${i}`, `index ${article[i]} past the ${header.articles.length} articles`);
  }
  const vectors = new Float32Array(n * dim);
  for (let i = 0; i < n * dim; i++) vectors[i] = view.getFloat32(vectorsAt + 4 * i, true);
  return { ...header, dim, offsets, tokens, article, vectors };
}
