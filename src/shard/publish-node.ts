// `lvm publish`: cuts a concept store into row-range shards sized to fit a Durable Object's isolate with headroom, builds
// each shard's own HNSW graph over its rows (exact to reason about: a shard answers for its rows only), and writes the
// release to an object target (a directory laid out like R2 keys, or an R2 bucket) in the order that keeps the served
// release intact: shard objects and documents first, then the manifest, then — only once every object the manifest names
// exists with its size and checksum — current.json. See src/shard/format.ts for the layout.
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { buildIndex } from "../index/hnsw-build.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { FILES } from "../store/format.ts";
import { readStore } from "../store/fs-store.ts";
import {
  CURRENT_KEY,
  type CurrentPointer,
  MANIFEST_FORMAT,
  parseShardManifest,
  releaseKey,
  SHARD_ROW_FIELDS,
  type ShardEntry,
  ShardFormatError,
  type ShardManifest,
  serializeShard,
  sha256Hex,
  shardKey,
} from "./format.ts";

/** Where a release is written: R2 (any object with these methods, e.g. an R2Bucket) or a directory (directoryTarget). */
export interface ObjectTarget {
  put(key: string, bytes: Uint8Array | string): Promise<unknown>;
  /** Size of the object, or null when it does not exist. */
  head(key: string): Promise<{ size: number } | null>;
  get(key: string): Promise<Uint8Array | null>;
  /** Names the target in messages. */
  readonly label: string;
}

/** A directory whose files are the R2 keys (written atomically: temp file, then rename). */
export function directoryTarget(dir: string): ObjectTarget {
  return {
    label: dir,
    async put(key, bytes) {
      const path = join(dir, key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    },
    async head(key) {
      try {
        return { size: (await stat(join(dir, key))).size };
      } catch {
        return null;
      }
    },
    async get(key) {
      try {
        return new Uint8Array(await readFile(join(dir, key)));
      } catch {
        return null;
      }
    },
  };
}

/** Default shard budget: the shard object (INT8 rows, texts, graph), loaded once into the isolate; 128 MB is the limit. */
export const DEFAULT_MAX_SHARD_BYTES = 40 * 1024 * 1024;

export interface PublishOptions {
  /** Number of shards; default: the fewest that keep each under maxShardBytes. */
  shards?: number;
  maxShardBytes?: number;
  /** Per-shard HNSW graph parameters, or false for exact search only. Default M 16, efConstruction 100. */
  hnsw?: { M: number; efConstruction: number } | false;
  /** Release name (default: a UTC timestamp). Must be new in the target. */
  release?: string;
  onProgress?: (message: string) => void;
}

/** Bytes of one shard object for `count` rows averaging `textBytes` of text, graph with M links per row. */
export function estimateShardBytes(count: number, dim: number, textBytes: number, M: number | undefined): number {
  const graph = M ? count * (2 * M + 1) * 4 + count * 8 : 0;
  return 64 + count * (dim + 4 + SHARD_ROW_FIELDS * 4) + textBytes + graph;
}

/** Contiguous row ranges of near-equal size. */
export function planShards(count: number, shards: number): { first: number; count: number }[] {
  if (shards < 1 || shards > count) throw new ShardFormatError(`cannot cut ${count} rows into ${shards} shards`);
  const ranges: { first: number; count: number }[] = [];
  for (let i = 0; i < shards; i++) {
    const first = Math.round((i * count) / shards);
    ranges.push({ first, count: Math.round(((i + 1) * count) / shards) - first });
  }
  return ranges;
}

function shardCountFor(store: ConceptStore, textBytes: number, maxBytes: number, M: number | undefined): number {
  const total = estimateShardBytes(store.count, store.dim, textBytes, M);
  return Math.max(1, Math.min(store.count, Math.ceil(total / maxBytes)));
}

function storeTextBytes(store: ConceptStore): number {
  const encoder = new TextEncoder();
  let n = 0;
  for (let r = 0; r < store.count; r++) n += encoder.encode(store.text(r)).length;
  return n;
}

/** One shard's object bytes: its rows' INT8 vectors, scales, texts and provenance, and its own graph. */
async function shardBytes(store: ConceptStore, range: { first: number; count: number }, hnsw: PublishOptions["hnsw"]): Promise<Uint8Array> {
  const { dim } = store;
  const { first, count } = range;
  const encoder = new TextEncoder();
  const texts: Uint8Array[] = [];
  const rows = new Uint32Array(count * SHARD_ROW_FIELDS);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const bytes = encoder.encode(store.text(first + i));
    texts.push(bytes);
    rows.set([offset, bytes.length, store.documentIndex(first + i), store.position(first + i)], i * SHARD_ROW_FIELDS);
    offset += bytes.length;
  }
  const textBlob = new Uint8Array(offset);
  let at = 0;
  for (const t of texts) {
    textBlob.set(t, at);
    at += t.length;
  }
  const int8 = store.int8.subarray(first * dim, (first + count) * dim);
  const scales = store.scales.subarray(first, first + count);
  let graph: Uint8Array | undefined;
  if (hnsw) {
    const built = await buildIndex(
      { count, dim, vectors: store.vectors.subarray(first * dim, (first + count) * dim), scales },
      { M: hnsw.M, efConstruction: hnsw.efConstruction, codes: false, seed: 100 + first },
    );
    graph = built.bytes;
  }
  return serializeShard({
    dim,
    count,
    first,
    textBytes: offset,
    hnswBytes: graph?.length ?? 0,
    int8,
    scales,
    rows,
    texts: textBlob,
    hnsw: graph,
  });
}

/**
 * Every object the manifest names exists in the target with its size and sha256; else a ShardFormatError naming the
 * first missing or mismatched key. Run before current.json is switched (and by `lvm publish --check`).
 */
export async function verifyRelease(target: ObjectTarget, manifest: ShardManifest, options: { checksums?: boolean } = {}): Promise<void> {
  const objects = [{ ...manifest.documents, what: "documents" }, ...manifest.shards.map((s) => ({ ...s, what: `shard ${s.index}` }))];
  for (const o of objects) {
    const head = await target.head(o.key);
    if (!head)
      throw new ShardFormatError(
        `manifest of release '${manifest.release}' names ${o.what} at '${o.key}', which is missing from ${target.label}`,
      );
    if (head.size !== o.bytes)
      throw new ShardFormatError(`${o.what} at '${o.key}' in ${target.label} has ${head.size} bytes, the manifest says ${o.bytes}`);
    if (options.checksums ?? true) {
      const bytes = await target.get(o.key);
      if (!bytes || (await sha256Hex(bytes)) !== o.sha256)
        throw new ShardFormatError(`${o.what} at '${o.key}' in ${target.label} does not match the manifest's sha256`);
    }
  }
}

export interface Published {
  manifest: ShardManifest;
  pointer: CurrentPointer;
  /** Largest shard object, bytes. */
  maxShardBytes: number;
}

/** Publish `storeDir` (or a loaded store) to `target` as a new release and switch current.json to it, last. */
export async function publishStore(source: string | ConceptStore, target: ObjectTarget, options: PublishOptions = {}): Promise<Published> {
  const store = typeof source === "string" ? await readStore(source) : source;
  if (store.count === 0) throw new ShardFormatError("the store is empty: nothing to publish");
  const hnsw = options.hnsw === undefined ? { M: 16, efConstruction: 100 } : options.hnsw;
  const release =
    options.release ??
    new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
  if (!/^[A-Za-z0-9._-]+$/.test(release)) throw new ShardFormatError(`release name '${release}': use letters, digits, '.', '_' or '-'`);
  const manifestKey = releaseKey(release, "manifest.json");
  if (await target.head(manifestKey)) throw new ShardFormatError(`release '${release}' already exists in ${target.label}: pick a new name`);
  const shardCount =
    options.shards ??
    shardCountFor(store, storeTextBytes(store), options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES, hnsw ? hnsw.M : undefined);
  const log = options.onProgress ?? (() => {});

  const documentsText = store.documents.map((d) => JSON.stringify(d)).join("\n") + (store.documents.length > 0 ? "\n" : "");
  const documentsBytes = new TextEncoder().encode(documentsText);
  const documentsKey = releaseKey(release, FILES.documents);
  await target.put(documentsKey, documentsBytes);

  const shards: ShardEntry[] = [];
  let maxShardBytes = 0;
  for (const [index, range] of planShards(store.count, shardCount).entries()) {
    const started = performance.now();
    const bytes = await shardBytes(store, range, hnsw);
    const key = shardKey(release, index);
    await target.put(key, bytes);
    maxShardBytes = Math.max(maxShardBytes, bytes.length);
    shards.push({
      index,
      first: range.first,
      count: range.count,
      key,
      bytes: bytes.length,
      sha256: await sha256Hex(bytes),
      object: `${release}/${index}`,
    });
    log(
      `shard ${index + 1}/${shardCount}: rows ${range.first}..${range.first + range.count - 1}, ${(bytes.length / 2 ** 20).toFixed(1)} MiB (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  const manifest: ShardManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    release,
    createdAt: new Date().toISOString(),
    encoder: store.encoder,
    count: store.count,
    documents: { key: documentsKey, bytes: documentsBytes.length, sha256: await sha256Hex(documentsBytes), count: store.documents.length },
    hnsw: hnsw || null,
    shards,
  };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  parseShardManifest(manifestText, manifestKey); // what the Worker will accept
  const manifestBytes = new TextEncoder().encode(manifestText);
  await target.put(manifestKey, manifestBytes);
  // Refuse to switch to a manifest that points at anything missing or different.
  await verifyRelease(target, manifest);
  const pointer: CurrentPointer = {
    release,
    manifest: { key: manifestKey, bytes: manifestBytes.length, sha256: await sha256Hex(manifestBytes) },
  };
  await target.put(CURRENT_KEY, `${JSON.stringify(pointer)}\n`);
  return { manifest, pointer, maxShardBytes };
}
