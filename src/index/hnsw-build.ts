/**
 * Node side of the approximate index: builds `<store>/index.hnsw` with hnswlib-wasm (src/index/hnswlib-node.ts),
 * loads it for the WASM core (loadStoreIndex: what the server and `lvm eval` call), and loads it back into
 * hnswlib-wasm.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { WasmCore } from "../core/wasm-core.ts";
import { writeFileAtomic } from "../fs/atomic-write-node.ts";
import { acquireWriteLock } from "../fs/write-lock-node.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { readStore } from "../store/fs-store.ts";
import { packCodes4 } from "./codes4.ts";
import { storeFingerprint } from "./fingerprint.ts";
import { expectedStore, type HnswCoreIndex, type HnswCoreOptions, hnswIndexFromBytes } from "./hnsw-core.ts";
import { HNSW_FILE, type HnswGraph, IndexFormatError, parseGraph, serializeGraph } from "./hnsw-format.ts";
import { fromHnswlib, toHnswlib } from "./hnswlib-bytes.ts";
import type { HnswlibIndex } from "./hnswlib-node.ts";

export interface BuildOptions {
  M?: number;
  efConstruction?: number;
  seed?: number;
  /** Include 4-bit walk codes (for memory-tight runtimes); default true. */
  codes?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface BuiltIndex {
  graph: HnswGraph;
  /** Our file's bytes (index.hnsw). */
  bytes: Uint8Array;
  /** hnswlib's own saveIndex() bytes, as read from hnswlib-wasm's file system. */
  hnswlibBytes: Uint8Array;
  /** The hnswlib-wasm index (still usable for searching). */
  hnswlib: HnswlibIndex;
  buildSeconds: number;
}

/** Builds the graph with hnswlib-wasm and converts it; nothing is written. */
export async function buildIndex(
  data: { count: number; dim: number; vectors: Float32Array; scales: Float32Array },
  options: BuildOptions = {},
): Promise<BuiltIndex> {
  // hnswlib-wasm (and its shims) load only when building: the server's loadStoreIndex never pulls them in.
  const { HnswlibIndex } = await import("./hnswlib-node.ts");
  const start = performance.now();
  const hnswlib = await HnswlibIndex.build(data.vectors, data.dim, {
    M: options.M ?? 16,
    efConstruction: options.efConstruction ?? 200,
    seed: options.seed,
    onProgress: options.onProgress,
  });
  const buildSeconds = (performance.now() - start) / 1000;
  const hnswlibBytes = await hnswlib.save();
  const graph = fromHnswlib(hnswlibBytes, data.dim);
  graph.storeFingerprint = storeFingerprint(data.count, data.dim, data.scales);
  if (options.codes ?? true) {
    const { codes, scales } = packCodes4(data.vectors, data.dim);
    graph.codes4 = codes;
    graph.codeScales = scales;
  }
  return { graph, bytes: serializeGraph(graph), hnswlibBytes, hnswlib, buildSeconds };
}

export function indexPath(storeDir: string): string {
  return join(storeDir, HNSW_FILE);
}

/**
 * `lvm index build`: builds and writes <store>/index.hnsw atomically (temp file, fsync, rename, directory fsync),
 * holding the store's write lock throughout, so no ingest commits rows the index would miss meanwhile.
 */
export async function buildStoreIndex(storeDir: string, options: BuildOptions = {}): Promise<BuiltIndex & { path: string }> {
  await readStore(storeDir); // a clear "not a concept store" before anything is locked or written
  await using _lock = await acquireWriteLock(storeDir, { command: "lvm index build" });
  const store = await readStore(storeDir);
  const built = await buildIndex(store, options);
  const path = indexPath(storeDir);
  await writeFileAtomic(path, built.bytes);
  return { ...built, path };
}

/** Reads and validates <store>/index.hnsw against the store; throws IndexFormatError when it does not fit. */
export async function readStoreGraph(storeDir: string, store: ConceptStore): Promise<HnswGraph> {
  const path = indexPath(storeDir);
  const bytes = await readFile(path).catch(() => {
    throw new IndexFormatError(`${path} is missing: build it with 'lvm index build --store ${storeDir}'`);
  });
  return parseGraph(bytes, expectedStore(store));
}

/** The store's index loaded into hnswlib-wasm (its own format rebuilt from our file and the store's vectors). */
export async function loadIntoHnswlib(storeDir: string, store?: ConceptStore): Promise<HnswlibIndex> {
  const s = store ?? (await readStore(storeDir));
  const graph = await readStoreGraph(storeDir, s);
  const { HnswlibIndex } = await import("./hnswlib-node.ts");
  // hnswlib-wasm reads 4-byte size_t fields (wasm32), whatever build the graph came from.
  return HnswlibIndex.load(toHnswlib({ ...graph, sizeT: 4 }, s.vectors), s.dim);
}

/**
 * For the server and `lvm eval`: the store's approximate index on the core, or undefined when the store has
 * none. Never throws: a corrupt, truncated or mismatched file is a warning and exact search stays in use.
 */
export async function loadStoreIndex(
  core: WasmCore,
  store: ConceptStore,
  storeDir: string,
  options: HnswCoreOptions & { warn?: (message: string) => void } = {},
): Promise<HnswCoreIndex | undefined> {
  const warn = options.warn ?? console.warn;
  const path = indexPath(storeDir);
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) return undefined;
  try {
    return await hnswIndexFromBytes(core, store, await readFile(path), options);
  } catch (error) {
    warn(`${path}: approximate index not used, falling back to exact search (${(error as Error).message})`);
    return undefined;
  }
}
