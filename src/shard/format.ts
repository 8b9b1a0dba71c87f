/**
 * A sharded release of a concept store, as `lvm publish` writes it to R2 (or a directory laid out like R2 keys) and
 * the sharded Worker (src/entries/worker-sharded.ts) reads it. All numbers little-endian.
 *
 * Keys (under an optional prefix):
 *   releases/<release>/shard-<iii>.bin   one object per shard (layout below)
 *   releases/<release>/documents.jsonl   the store's documents.jsonl (committed part): the Worker names each hit's document
 *   releases/<release>/manifest.json     ShardManifest: shard count, row ranges, keys, sizes, sha256 of every object
 *   current.json                         CurrentPointer: which release is served; written LAST, after every object of the
 *                                        release exists and matches its size and checksum, so a release in progress
 *                                        never breaks the one being served (its keys are new; nothing is overwritten)
 *
 * Shard object (rows first..first+count-1 of the store):
 *    0   8  magic "LVMSHRD\0"
 *    8   4  u32 version (1)
 *   12   4  u32 dim
 *   16   4  u32 count
 *   20   4  u32 first (store row of the shard's row 0)
 *   24   4  u32 textBytes
 *   28   4  u32 hnswBytes (0: no graph, exact search only)
 *   32  32  reserved (zero)
 *   64      int8    count x dim int8 (the store's per-row quantised vectors)      then zero padding to 16 bytes
 *           scales  count f32                                                      padded to 16
 *           rows    count x 4 u32: text offset, text length, document index (in the store's documents.jsonl), position
 *           texts   textBytes of UTF-8                                             padded to 16
 *           hnsw    hnswBytes: an index.hnsw file (src/index/hnsw-format.ts) over these rows alone (local row numbers)
 * The object's sha256 is in the manifest; a shard whose bytes do not match it is not served.
 */
import { z } from "zod";
import { nonEmptyString, nonNegativeInt, parseJsonFile, positiveInt } from "../validate/parse-file.ts";

export const SHARD_MAGIC = "LVMSHRD\0";
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 64;
export const SHARD_ROW_FIELDS = 4;
export const MANIFEST_FORMAT = "lvm-edge-shards";
export const CURRENT_KEY = "current.json";

export class ShardFormatError extends Error {
  override name = "ShardFormatError";
}

const pad16 = (n: number) => (n + 15) & ~15;

/** Byte offsets of a shard object's sections. */
export function shardLayout(h: { dim: number; count: number; textBytes: number; hnswBytes: number }) {
  const int8 = SHARD_HEADER_BYTES;
  const scales = int8 + pad16(h.count * h.dim);
  const rows = scales + pad16(h.count * 4);
  const texts = rows + h.count * SHARD_ROW_FIELDS * 4;
  const hnsw = texts + pad16(h.textBytes);
  return { int8, scales, rows, texts, hnsw, total: hnsw + h.hnswBytes };
}

export interface ShardHeader {
  dim: number;
  count: number;
  first: number;
  textBytes: number;
  hnswBytes: number;
}

export interface ShardParts extends ShardHeader {
  int8: Int8Array;
  scales: Float32Array;
  rows: Uint32Array;
  texts: Uint8Array;
  hnsw?: Uint8Array;
}

/** One shard object's bytes. */
export function serializeShard(p: ShardParts): Uint8Array {
  const layout = shardLayout(p);
  const out = new Uint8Array(layout.total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SHARD_MAGIC), 0);
  [SHARD_VERSION, p.dim, p.count, p.first, p.textBytes, p.hnsw?.length ?? 0].forEach((v, i) => {
    view.setUint32(8 + 4 * i, v, true);
  });
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  out.set(bytes(p.int8), layout.int8);
  out.set(bytes(p.scales), layout.scales);
  out.set(bytes(p.rows), layout.rows);
  out.set(p.texts, layout.texts);
  if (p.hnsw) out.set(p.hnsw, layout.hnsw);
  return out;
}

/** The header of a shard object, checked against its length (and the manifest's entry where given). */
export function parseShardHeader(bytes: Uint8Array, where: string, expected?: { dim: number; count: number; first: number }): ShardHeader {
  if (bytes.length < SHARD_HEADER_BYTES) throw new ShardFormatError(`${where}: ${bytes.length} bytes, shorter than the header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== SHARD_MAGIC) throw new ShardFormatError(`${where}: not a shard object (magic ${JSON.stringify(magic)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const [version, dim, count, first, textBytes, hnswBytes] = [0, 1, 2, 3, 4, 5].map((i) => view.getUint32(8 + 4 * i, true));
  if (version !== SHARD_VERSION) throw new ShardFormatError(`${where}: version ${version}, this build reads ${SHARD_VERSION}`);
  const header = { dim, count, first, textBytes, hnswBytes };
  const { total } = shardLayout(header);
  if (total !== bytes.length) throw new ShardFormatError(`${where}: ${bytes.length} bytes, the header announces ${total}`);
  if (expected && (expected.dim !== dim || expected.count !== count || expected.first !== first))
    throw new ShardFormatError(
      `${where}: holds rows ${first}..${first + count - 1} (dim ${dim}); the manifest says ${expected.first}..${expected.first + expected.count - 1} (dim ${expected.dim})`,
    );
  return header;
}

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex digits (sha256)" });
const ObjectRef = z.object({ key: nonEmptyString(), bytes: nonNegativeInt(), sha256: Sha256 });

export const ShardEntrySchema = ObjectRef.extend({
  index: nonNegativeInt(),
  first: nonNegativeInt(),
  count: positiveInt(),
  /** The Durable Object name that serves this shard (release-scoped, so a new release gets fresh objects). */
  object: nonEmptyString(),
});

export const ShardManifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT, { error: `expected "${MANIFEST_FORMAT}" (not a shard manifest)` }),
    version: z.literal(1, { error: "expected manifest version 1 (the only one this build reads)" }),
    release: nonEmptyString(),
    createdAt: z.string(),
    encoder: z.object({ id: nonEmptyString(), dim: positiveInt() }),
    /** Rows in the whole store. */
    count: nonNegativeInt(),
    documents: ObjectRef.extend({ count: nonNegativeInt() }),
    /** The per-shard HNSW graphs' build parameters, or null when shards carry no graph. */
    hnsw: z.object({ M: positiveInt(), efConstruction: positiveInt() }).nullable(),
    shards: z.array(ShardEntrySchema).min(1),
  })
  .superRefine((m, ctx) => {
    let next = 0;
    m.shards.forEach((s, i) => {
      if (s.index !== i) ctx.addIssue({ code: "custom", path: ["shards", i, "index"], message: `expected ${i} (shards in order)` });
      if (s.first !== next)
        ctx.addIssue({ code: "custom", path: ["shards", i, "first"], message: `expected ${next} (row ranges contiguous from 0)` });
      next = s.first + s.count;
    });
    if (next !== m.count) ctx.addIssue({ code: "custom", path: ["count"], message: `the shards hold ${next} rows, not ${m.count}` });
  });

export const CurrentPointerSchema = z.object({ release: nonEmptyString(), manifest: ObjectRef });

export type ShardEntry = z.infer<typeof ShardEntrySchema>;
export type ShardManifest = z.infer<typeof ShardManifestSchema>;
export type CurrentPointer = z.infer<typeof CurrentPointerSchema>;

export function parseShardManifest(json: string, where: string): ShardManifest {
  return parseJsonFile(ShardManifestSchema, json, where, (m) => new ShardFormatError(m));
}

export function parseCurrentPointer(json: string, where: string): CurrentPointer {
  return parseJsonFile(CurrentPointerSchema, json, where, (m) => new ShardFormatError(m));
}

export function releaseKey(release: string, name: string): string {
  return `releases/${release}/${name}`;
}

export function shardKey(release: string, index: number): string {
  return releaseKey(release, `shard-${String(index).padStart(3, "0")}.bin`);
}

/** Lowercase hex sha256 (WebCrypto: Node, Workers and browsers alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
