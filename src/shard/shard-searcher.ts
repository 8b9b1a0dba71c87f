/**
 * One shard, searched on the WASM core where it lies: the shard object is read once into core memory (no second copy),
 * checked against its sha256, and searched in place — exact (INT8 scan of every row, a short list rescored) or HNSW
 * (the shard's own graph walked with the INT8 rows, the ef candidates rescored). Rescoring uses each candidate's INT8
 * row rebuilt to a unit float vector exactly as storeFromBytes does, so a shard's scores are the scores the whole store
 * gives on the edge (src/entries/worker.ts), and the merged top-k of N shards is the whole store's top-k.
 * Runtime-agnostic: the Durable Object (src/entries/worker-sharded.ts) and the Node tests and bench use it alike.
 */
import type { CoreBuffer, WasmCore } from "../core/wasm-core.ts";
import { CoreIndex } from "../index/core-index.ts";
import { expectedStore, HnswCoreIndex, readIntoCore } from "../index/hnsw-core.ts";
import { parseGraph } from "../index/hnsw-format.ts";
import {
  parseShardHeader,
  SHARD_ROW_FIELDS,
  type ShardEntry,
  ShardFormatError,
  type ShardHeader,
  sha256Hex,
  shardLayout,
} from "./format.ts";

export interface ShardQuery {
  /** Unit query vector (dim values). */
  query: Float32Array;
  k: number;
  /** Store rows never returned (only those inside this shard matter). */
  exclude?: number[];
  /** Exact scan instead of the graph. */
  exact?: boolean;
  ef?: number;
}

/** What a shard returns for its hits: enough for the Worker to answer without the rows in memory. */
export interface ShardRows {
  /** Store rows. */
  rows: Int32Array;
  texts: string[];
  documents: Int32Array;
  positions: Int32Array;
  /** rows.length x dim INT8 rows and their scales (the Worker rebuilds unit vectors as storeFromBytes does). */
  int8: Int8Array;
  scales: Float32Array;
}

export interface ShardHits extends ShardRows {
  scores: Float32Array;
}

export class ShardSearcher {
  readonly header: ShardHeader;
  readonly hnsw: HnswCoreIndex | undefined;
  private readonly core: WasmCore;
  private readonly block: CoreBuffer;
  private readonly layout: ReturnType<typeof shardLayout>;
  private readonly query: CoreBuffer;
  private outRows: CoreBuffer;
  private outScores: CoreBuffer;
  private capacity = 0;
  private readonly decoder = new TextDecoder();

  private constructor(core: WasmCore, block: CoreBuffer, header: ShardHeader) {
    this.core = core;
    this.block = block;
    this.header = header;
    this.layout = shardLayout(header);
    if (header.dim % 32 !== 0) throw new ShardFormatError(`shard dim ${header.dim}: the core searches multiples of 32`);
    const base = block.aligned;
    const memory = core.exports.memory.buffer;
    if (header.hnswBytes > 0) {
      const int8 = new Int8Array(memory, base + this.layout.int8, header.count * header.dim);
      const scales = new Float32Array(memory, base + this.layout.scales, header.count);
      const data = { count: header.count, dim: header.dim, int8, scales };
      const graph = parseGraph(new Uint8Array(memory, base + this.layout.hnsw, header.hnswBytes), expectedStore(data));
      // In place: the INT8 rows and the graph already lie in core memory; only the walk's scratch is allocated.
      this.hnsw = new HnswCoreIndex(core, graph, data, { walk: "i8", rescore: false });
    }
    this.query = core.buffer(header.dim);
    this.outRows = core.buffer(4);
    this.outScores = core.buffer(4);
  }

  /**
   * Load a shard object (bytes, or a stream of `entry.bytes` bytes such as an R2 body) into core memory and check it
   * against its manifest entry: size, sha256, header. Throws ShardFormatError naming the key when anything differs; the
   * memory is freed then.
   */
  static async load(
    core: WasmCore,
    source: Uint8Array | ReadableStream<Uint8Array>,
    entry: ShardEntry,
    dim: number,
  ): Promise<ShardSearcher> {
    let block: CoreBuffer;
    try {
      block = await readIntoCore(core, source, entry.bytes);
    } catch (error) {
      throw new ShardFormatError(`shard ${entry.index} at '${entry.key}': ${(error as Error).message}`);
    }
    try {
      if (block.bytes !== entry.bytes)
        throw new ShardFormatError(`shard ${entry.index} at '${entry.key}': ${block.bytes} bytes, the manifest says ${entry.bytes}`);
      const bytes = new Uint8Array(core.exports.memory.buffer, block.aligned, block.bytes);
      const sum = await sha256Hex(bytes);
      if (sum !== entry.sha256)
        throw new ShardFormatError(
          `shard ${entry.index} at '${entry.key}' does not match its checksum (sha256 ${sum}, the manifest says ${entry.sha256}): not served`,
        );
      const fresh = new Uint8Array(core.exports.memory.buffer, block.aligned, block.bytes);
      const header = parseShardHeader(fresh, entry.key, { dim, count: entry.count, first: entry.first });
      return new ShardSearcher(core, block, header);
    } catch (error) {
      block.free();
      throw error;
    }
  }

  /** Top-k of this shard's rows by cosine, rows as store rows, each with its text, provenance and INT8 row. */
  search(q: ShardQuery): ShardHits {
    const { dim, count, first } = this.header;
    if (q.query.length !== dim) throw new ShardFormatError(`query has ${q.query.length} values, the shard dim ${dim}`);
    const exclude = new Set<number>();
    for (const row of q.exclude ?? []) if (row >= first && row < first + count) exclude.add(row - first);
    const wanted = Math.min(count, q.k + exclude.size);
    let candidates: Int32Array;
    if (q.exact || !this.hnsw) {
      candidates = this.shortList(q.query, Math.min(count, CoreIndex.shortList(q.k, exclude.size)));
    } else {
      const ef = Math.max(q.ef ?? this.hnsw.ef, wanted);
      candidates = this.hnsw.searchEf(q.query, Math.min(ef, count), ef).rows;
    }
    const hits: { row: number; score: number }[] = [];
    for (const local of candidates) {
      if (exclude.has(local)) continue;
      hits.push({ row: local, score: this.rescore(local, q.query) });
    }
    hits.sort((a, b) => b.score - a.score || a.row - b.row);
    const top = hits.slice(0, q.k);
    return { ...this.rows(top.map((h) => h.row + first)), scores: Float32Array.from(top, (h) => h.score) };
  }

  /** Texts, provenance and INT8 rows of store rows inside this shard (others are an error). */
  rows(storeRows: number[]): ShardRows {
    const { dim, count, first } = this.header;
    const memory = this.core.exports.memory.buffer;
    const base = this.block.aligned;
    const fields = new Uint32Array(memory, base + this.layout.rows, count * SHARD_ROW_FIELDS);
    const texts = new Uint8Array(memory, base + this.layout.texts, this.header.textBytes);
    const int8 = new Int8Array(storeRows.length * dim);
    const scales = new Float32Array(storeRows.length);
    const all8 = new Int8Array(memory, base + this.layout.int8, count * dim);
    const allScales = new Float32Array(memory, base + this.layout.scales, count);
    const out: ShardRows = {
      rows: Int32Array.from(storeRows),
      texts: [],
      documents: new Int32Array(storeRows.length),
      positions: new Int32Array(storeRows.length),
      int8,
      scales,
    };
    storeRows.forEach((row, i) => {
      const local = row - first;
      if (!Number.isInteger(local) || local < 0 || local >= count)
        throw new RangeError(`row ${row} is not in this shard (${first}..${first + count - 1})`);
      const f = local * SHARD_ROW_FIELDS;
      out.texts.push(this.decoder.decode(texts.subarray(fields[f], fields[f] + fields[f + 1])));
      out.documents[i] = fields[f + 2];
      out.positions[i] = fields[f + 3];
      int8.set(all8.subarray(local * dim, (local + 1) * dim), i * dim);
      scales[i] = allScales[local];
    });
    return out;
  }

  /** Bytes of core memory this shard holds (object, graph scratch, buffers) and the whole wasm memory. */
  memory(): { shardBytes: number; wasmMemoryBytes: number } {
    return { shardBytes: this.block.bytes + (this.hnsw?.coreBytes ?? 0), wasmMemoryBytes: this.core.exports.memory.buffer.byteLength };
  }

  /** The `list` best local rows by INT8 score (every row scanned). */
  private shortList(query: Float32Array, list: number): Int32Array {
    const { dim, count } = this.header;
    if (list > this.capacity) {
      this.outRows.free();
      this.outScores.free();
      this.capacity = list;
      this.outRows = this.core.buffer(4 * list);
      this.outScores = this.core.buffer(4 * list);
    }
    const qv = this.query.i8(dim);
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(query[j]));
    const inv = max > 0 ? 127 / max : 0;
    for (let j = 0; j < dim; j++) qv[j] = Math.round(query[j] * inv);
    const base = this.block.aligned;
    const kept = this.core.exports.searchI8(
      base + this.layout.int8,
      base + this.layout.scales,
      count,
      dim,
      this.query.aligned,
      1,
      list,
      this.outRows.aligned,
      this.outScores.aligned,
    );
    return this.outRows.i32(kept).slice();
  }

  /** Cosine of the query and a row's INT8 vector made unit, computed as storeFromBytes + CoreIndex do (same floats). */
  private rescore(local: number, query: Float32Array): number {
    const { dim } = this.header;
    const memory = this.core.exports.memory.buffer;
    const base = this.block.aligned;
    const row = new Int8Array(memory, base + this.layout.int8 + local * dim, dim);
    const scale = new Float32Array(memory, base + this.layout.scales + local * 4, 1)[0];
    return unitDot(row, scale, query);
  }

  dispose(): void {
    this.hnsw?.dispose();
    this.block.free();
    this.query.free();
    this.outRows.free();
    this.outScores.free();
  }
}

/** storeFromBytes's unit vector of an INT8 row (float32 values), dotted with `query` in float64, rounded to float32. */
export function unitDot(row: Int8Array, scale: number, query: Float32Array): number {
  const dim = row.length;
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += (row[j] * scale) ** 2;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  let s = 0;
  for (let j = 0; j < dim; j++) s += Math.fround(row[j] * scale * inv) * query[j];
  return Math.fround(s);
}

/** storeFromBytes's unit vector of an INT8 row. */
export function unitVectorOf(row: Int8Array, scale: number): Float32Array {
  const dim = row.length;
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += (row[j] * scale) ** 2;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) out[j] = row[j] * scale * inv;
  return out;
}
