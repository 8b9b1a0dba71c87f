/**
 * Approximate top-k on the WASM core: hnswlib's graph (converted by hnswlib-bytes.ts to the file of
 * hnsw-format.ts) walked with INT8 (or 4-bit) distances in wasm/assembly/hnsw.ts, then the ef candidates
 * rescored in float32 like CoreIndex does for its short list. Runtime-agnostic: Node, Workers and browsers
 * pass their WasmCore.
 */

import type { CoreBuffer, WasmCore } from "../core/wasm-core.ts";
import type { SearchHits } from "./exact.ts";
import { storeFingerprint } from "./fingerprint.ts";
import { HNSW_FILE, type HnswGraph, IndexFormatError, parseGraph } from "./hnsw-format.ts";
import type { VectorIndex } from "./types.ts";

interface HnswExports {
  hnswSearch(g: number, query: number, ef: number, outRows: number, outScores: number): number;
}

export interface HnswStoreData {
  count: number;
  dim: number;
  /** Unit rows for rescoring; without them the walk's approximate scores are final. */
  vectors?: Float32Array;
  /** The store's INT8 rows and scales: the walk codes for `walk: "i8"`. */
  int8?: Int8Array;
  scales?: Float32Array;
}

export interface HnswCoreOptions {
  /** Codes for the graph walk: the store's INT8 rows (default) or the index's 4-bit codes (half the memory). */
  walk?: "i8" | "i4";
  /** Rescore the ef candidates in float32 (default: when vectors are given). */
  rescore?: boolean;
  /** Default ef for search() (per query: searchEf or the options argument). */
  ef?: number;
}

export interface SearchOptions {
  ef?: number;
}

const DESCRIPTOR_FIELDS = 16;

export class HnswCoreIndex implements VectorIndex {
  readonly kind = "hnsw-core";
  readonly count: number;
  readonly dim: number;
  readonly walk: "i8" | "i4";
  readonly rescore: boolean;
  ef: number;
  private readonly core: WasmCore;
  private readonly vectors?: Float32Array;
  private readonly buffers: CoreBuffer[] = [];
  private readonly descriptor: number;
  private query: CoreBuffer;
  private outRows: CoreBuffer;
  private outScores: CoreBuffer;
  private capacity: number;

  /**
   * Arrays of `graph` (and the store's INT8 rows) that already lie in core memory — a file read into the core
   * with readIntoCore and parsed there — are used in place; the rest is copied into one core block (one
   * allocation: the core's allocator grows memory by at least its current size per growth).
   */
  constructor(core: WasmCore, graph: HnswGraph, store: HnswStoreData, options: HnswCoreOptions & { owned?: CoreBuffer } = {}) {
    if (graph.count !== store.count || graph.dim !== store.dim)
      throw new IndexFormatError(`index is for ${graph.count} x ${graph.dim}, the store is ${store.count} x ${store.dim}`);
    if (store.dim % 32 !== 0) throw new Error(`the HNSW core searches dims that are multiples of 32; got ${store.dim}`);
    if (!("hnswSearch" in core.exports)) throw new Error("this core.wasm has no hnswSearch: run 'npm run build:wasm'");
    this.core = core;
    this.count = store.count;
    this.dim = store.dim;
    this.walk = options.walk ?? (store.int8 && store.scales ? "i8" : "i4");
    this.rescore = (options.rescore ?? true) && store.vectors !== undefined;
    this.vectors = this.rescore ? store.vectors : undefined;
    this.ef = options.ef ?? 64;
    if (options.owned) this.buffers.push(options.owned);
    let codes: ArrayBufferView;
    let scales: ArrayBufferView;
    if (this.walk === "i8") {
      if (!store.int8 || !store.scales) throw new Error("walk 'i8' needs the store's INT8 rows and scales");
      codes = store.int8;
      scales = store.scales;
    } else {
      if (!graph.codes4 || !graph.codeScales) throw new IndexFormatError("walk 'i4' needs an index built with 4-bit codes");
      codes = graph.codes4;
      scales = graph.codeScales;
    }
    const arrays: ArrayBufferView[] = [
      codes,
      scales,
      graph.l0Offsets,
      graph.l0Links,
      graph.upperStart,
      graph.upperOffsets,
      graph.upperLinks,
    ];
    // Pointers first: any allocation may grow (and so detach) the memory these views were made on.
    const memory = core.exports.memory.buffer;
    const pointers = arrays.map((a) => (a.buffer === memory ? a.byteOffset : -1));
    const pad = (n: number) => (Math.max(n, 4) + 15) & ~15;
    const scratchBytes = [(store.count + 7) >> 3, 4 * store.count, 4 * store.count, 4 * DESCRIPTOR_FIELDS];
    const total =
      arrays.reduce((n, a, i) => n + (pointers[i] < 0 ? pad(a.byteLength) : 0), 0) + scratchBytes.reduce((n, b) => n + pad(b), 0);
    const sources = arrays.map((a, i) => (pointers[i] < 0 ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : undefined));
    const block = core.buffer(total);
    this.buffers.push(block);
    let at = block.aligned;
    const heap = new Uint8Array(core.exports.memory.buffer);
    sources.forEach((src, i) => {
      if (!src) return;
      heap.set(src, at);
      pointers[i] = at;
      at += pad(src.length);
    });
    const scratch = scratchBytes.map((b) => {
      const p = at;
      at += pad(b);
      return p;
    });
    const [codesPtr, scalesPtr, l0Offsets, l0Links, upperStart, upperOffsets, upperLinks] = pointers;
    const fields = [
      codesPtr,
      this.walk === "i8" ? 0 : 1,
      scalesPtr,
      store.dim,
      store.count,
      l0Offsets,
      l0Links,
      upperStart,
      upperOffsets,
      upperLinks,
      graph.entryPoint,
      graph.maxLevel,
      scratch[0],
      scratch[1],
      scratch[2],
    ];
    this.descriptor = scratch[3];
    new Int32Array(core.exports.memory.buffer, this.descriptor, DESCRIPTOR_FIELDS).set(fields);
    this.capacity = 256;
    this.query = core.buffer(store.dim);
    this.outRows = core.buffer(4 * this.capacity);
    this.outScores = core.buffer(4 * this.capacity);
  }

  /** Bytes this index holds in core memory (codes, graph, scratch). */
  get coreBytes(): number {
    return this.buffers.reduce((n, b) => n + b.bytes, 0) + this.query.bytes + this.outRows.bytes + this.outScores.bytes;
  }

  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>, options?: SearchOptions): SearchHits {
    return this.searchEf(query, k, options?.ef ?? this.ef, exclude);
  }

  /** Top-k with a result list of ef (raised to k + excluded rows when smaller). */
  searchEf(query: Float32Array, k: number, ef: number, exclude?: ReadonlySet<number>): SearchHits {
    const { dim } = this;
    if (query.length !== dim) throw new Error(`query has ${query.length} values, expected ${dim}`);
    const size = Math.min(Math.max(ef, k + (exclude?.size ?? 0)), this.count);
    if (size > this.capacity) {
      this.outRows.free();
      this.outScores.free();
      this.capacity = size;
      this.outRows = this.core.buffer(4 * size);
      this.outScores = this.core.buffer(4 * size);
    }
    const qv = this.query.i8(dim);
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(query[j]));
    const inv = max > 0 ? 127 / max : 0;
    for (let j = 0; j < dim; j++) qv[j] = Math.round(query[j] * inv);
    const found = (this.core.exports as unknown as HnswExports).hnswSearch(
      this.descriptor,
      this.query.aligned,
      size,
      this.outRows.aligned,
      this.outScores.aligned,
    );
    const rows = this.outRows.i32(found);
    const approx = this.outScores.f32(found);
    const hits: { row: number; score: number }[] = [];
    const vectors = this.vectors;
    for (let c = 0; c < found; c++) {
      const row = rows[c];
      if (exclude?.has(row)) continue;
      let s: number;
      if (vectors) {
        s = 0;
        const base = row * dim;
        for (let j = 0; j < dim; j++) s += vectors[base + j] * query[j];
      } else {
        s = inv > 0 ? approx[c] / inv : 0;
      }
      hits.push({ row, score: Math.fround(s) });
    }
    hits.sort((a, b) => b.score - a.score || a.row - b.row);
    const top = hits.slice(0, k);
    return { rows: Int32Array.from(top, (h) => h.row), scores: Float32Array.from(top, (h) => h.score) };
  }

  dispose(): void {
    for (const b of this.buffers) b.free();
    this.query.free();
    this.outRows.free();
    this.outScores.free();
  }
}

/** The store a graph must match: count, dim and its fingerprint. */
export function expectedStore(store: { count: number; dim: number; scales: Float32Array }) {
  return { count: store.count, dim: store.dim, fingerprint: storeFingerprint(store.count, store.dim, store.scales) };
}

/**
 * Copies a file into one core block (from bytes, or chunk by chunk from a stream of `length` bytes, e.g. an R2
 * object body): the index is then parsed and searched in place, so it is held once, in core memory.
 */
export async function readIntoCore(core: WasmCore, source: Uint8Array | ReadableStream<Uint8Array>, length?: number): Promise<CoreBuffer> {
  if (source instanceof Uint8Array) {
    const block = core.buffer(source.length);
    new Uint8Array(core.exports.memory.buffer, block.aligned, source.length).set(source);
    return block;
  }
  if (length === undefined) throw new Error("readIntoCore: a stream needs its length");
  const block = core.buffer(length);
  let at = 0;
  try {
    for await (const chunk of source as unknown as AsyncIterable<Uint8Array>) {
      if (at + chunk.length > length) throw new IndexFormatError(`${HNSW_FILE}: longer than the announced ${length} bytes`);
      new Uint8Array(core.exports.memory.buffer, block.aligned + at, chunk.length).set(chunk);
      at += chunk.length;
    }
    if (at !== length) throw new IndexFormatError(`${HNSW_FILE}: truncated: ${at} bytes, expected ${length}`);
  } catch (error) {
    block.free();
    throw error;
  }
  return block;
}

/**
 * An index from the bytes (or a stream) of `index.hnsw` for a loaded store, on any runtime. Throws
 * IndexFormatError on a corrupt file or one built for another store.
 */
export async function hnswIndexFromBytes(
  core: WasmCore,
  store: HnswStoreData & { scales: Float32Array },
  source: Uint8Array | ReadableStream<Uint8Array>,
  options: HnswCoreOptions & { length?: number } = {},
): Promise<HnswCoreIndex> {
  const block = await readIntoCore(core, source, options.length);
  try {
    const graph = parseGraph(new Uint8Array(core.exports.memory.buffer, block.aligned, block.bytes), expectedStore(store));
    return new HnswCoreIndex(core, graph, store, { ...options, owned: block });
  } catch (error) {
    block.free();
    throw error;
  }
}

/**
 * Same, but never throws: a bad file is reported through `warn` (console.warn by default) and undefined is
 * returned, so the caller keeps exact search. For Workers and browsers (Node: src/index/hnsw-build.ts).
 */
export async function tryHnswIndexFromBytes(
  core: WasmCore,
  store: HnswStoreData & { scales: Float32Array },
  source: Uint8Array | ReadableStream<Uint8Array> | undefined,
  options: HnswCoreOptions & { length?: number } = {},
  warn: (message: string) => void = console.warn,
): Promise<HnswCoreIndex | undefined> {
  if (!source) return undefined;
  try {
    return await hnswIndexFromBytes(core, store, source, options);
  } catch (error) {
    warn(`approximate index not used, falling back to exact search: ${(error as Error).message}`);
    return undefined;
  }
}
