/**
 * Exact top-k on the WASM core: INT8 dot products over every row give a short list (scores within about
 * 1% of the float ones), which is rescored in float32 and cut to k. Same answers as exactSearch (the
 * TypeScript reference) unless a true top-k row falls outside the short list; the tests check agreement.
 */

import type { CoreBuffer, WasmCore } from "../core/wasm-core.ts";
import type { SearchHits } from "./exact.ts";

export interface SearchableVectors {
  count: number;
  dim: number;
  /** Unit rows, count x dim: used to rescore the short list. */
  vectors: Float32Array;
  int8: Int8Array;
  scales: Float32Array;
}

export class CoreIndex {
  readonly count: number;
  readonly dim: number;
  private readonly core: WasmCore;
  private readonly vectors: Float32Array;
  private readonly int8: CoreBuffer;
  private readonly scales: CoreBuffer;
  /** Relaxed core only: 64 * each row's sum, which removes the u7 query's shift from the scores. */
  private readonly rowSums64?: CoreBuffer;
  /** Relaxed core only: the one-query scan's buffers (every row's score, the query), kept across searches. */
  private readonly scanBuffers?: { scores: CoreBuffer; query: CoreBuffer; queryU7: CoreBuffer; queryScale: CoreBuffer };

  constructor(core: WasmCore, data: SearchableVectors) {
    if (data.dim % 16 !== 0) throw new Error(`the core searches dims that are multiples of 16; got ${data.dim}`);
    this.core = core;
    this.count = data.count;
    this.dim = data.dim;
    this.vectors = data.vectors;
    this.int8 = core.fromI8(data.int8);
    this.scales = core.fromF32(data.scales);
    if (core.relaxed) {
      this.rowSums64 = core.buffer(data.count * 4);
      core.exports.rowSumsI8(this.int8.aligned, data.count, data.dim, this.rowSums64.aligned);
      this.scanBuffers = {
        scores: core.buffer(data.count * 4),
        query: core.buffer(data.dim * 4),
        queryU7: core.buffer(data.dim),
        queryScale: core.buffer(4),
      };
    }
  }

  /** "relaxed": i32x4.relaxed_dot_i8x16_i7x16_add_s over 4 rows at a time; "simd": extmul, all queries per row. */
  get scan(): "relaxed" | "simd" {
    return this.rowSums64 ? "relaxed" : "simd";
  }

  /** Short-list length for k results: room for the excluded rows and for INT8 ranking error. */
  static shortList(k: number, excluded: number): number {
    return 2 * k + excluded + 32;
  }

  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>): SearchHits {
    return this.searchBatch(query, 1, k, exclude ? [exclude] : undefined)[0];
  }

  /** queries: nq x dim (unit rows); exclude[q] rows are never returned for query q. */
  searchBatch(queries: Float32Array, nq: number, k: number, exclude?: (ReadonlySet<number> | undefined)[]): SearchHits[] {
    const { dim } = this;
    if (queries.length !== nq * dim) throw new Error(`queries hold ${queries.length} values, expected ${nq} x ${dim}`);
    const maxExcluded = Math.max(0, ...(exclude ?? []).map((s) => s?.size ?? 0));
    const list = Math.min(this.count, CoreIndex.shortList(k, maxExcluded));
    const q = this.core.buffer(nq * dim);
    const rows = this.core.buffer(nq * list * 4);
    const scores = this.core.buffer(nq * list * 4);
    try {
      const kept = this.rowSums64 ? this.scanRelaxed(queries, nq, list, rows, scores) : this.scanSimd(queries, nq, list, q, rows, scores);
      const candidates = rows.i32(nq * list);
      const results: SearchHits[] = [];
      for (let i = 0; i < nq; i++) {
        const query = queries.subarray(i * dim, (i + 1) * dim);
        results.push(this.rescore(query, candidates.subarray(i * list, i * list + kept), k, exclude?.[i]));
      }
      return results;
    } finally {
      q.free();
      rows.free();
      scores.free();
    }
  }

  /**
   * Top-k by cosine - weight * values[row] (src/index/hubness.ts), in one scan: the penalty is subtracted from
   * every row's INT8 score before the short list is taken, then the list is rescored in float32. Relaxed core
   * only (its scan writes every row's score); undefined on the plain-SIMD core, whose scan keeps only a heap.
   */
  searchPenalised(
    query: Float32Array,
    k: number,
    penalty: { values: Float32Array; weight: number },
    exclude?: ReadonlySet<number>,
  ): SearchHits | undefined {
    if (!this.scanBuffers || !this.rowSums64) return undefined;
    const { dim, count } = this;
    if (query.length !== dim) throw new Error(`query has ${query.length} values, expected ${dim}`);
    if (penalty.values.length !== count) throw new Error(`penalty has ${penalty.values.length} values, the index ${count} rows`);
    const list = Math.min(count, CoreIndex.shortList(k, exclude?.size ?? 0));
    const rows = this.core.buffer(list * 4);
    const scores = this.core.buffer(list * 4);
    try {
      const e = this.core.exports;
      const { scores: all, query: q, queryU7, queryScale } = this.scanBuffers;
      q.f32(dim).set(query);
      e.quantizeRowsU7!(q.aligned, 1, dim, queryU7.aligned, queryScale.aligned);
      e.scoresI8U7!(this.int8.aligned, this.scales.aligned, this.rowSums64.aligned, count, dim, queryU7.aligned, all.aligned);
      // The scan's scores are cosines divided by the query's scale: the penalty goes in in the same units.
      const f = penalty.weight / queryScale.f32(1)[0];
      const values = all.f32(count);
      for (let c = 0; c < count; c++) values[c] -= f * penalty.values[c];
      const kept = e.selectTopK(all.aligned, count, list, rows.aligned, scores.aligned);
      return this.rescore(query, rows.i32(kept), k, exclude, penalty);
    } finally {
      rows.free();
      scores.free();
    }
  }

  /** The candidates rescored in float32 (cosine; ranked by cosine - weight * value with a penalty), best k. */
  private rescore(
    query: Float32Array,
    candidates: Int32Array,
    k: number,
    skip: ReadonlySet<number> | undefined,
    penalty?: { values: Float32Array; weight: number },
  ): SearchHits {
    const { dim } = this;
    const hits: { row: number; score: number; rank: number }[] = [];
    for (const row of candidates) {
      if (skip?.has(row)) continue;
      let s = 0;
      const base = row * dim;
      for (let j = 0; j < dim; j++) s += this.vectors[base + j] * query[j];
      const score = Math.fround(s);
      hits.push({ row, score, rank: penalty ? score - penalty.weight * penalty.values[row] : score });
    }
    hits.sort((a, b) => b.rank - a.rank || a.row - b.row);
    const top = hits.slice(0, k);
    const rows = Int32Array.from(top, (h) => h.row);
    const scores = Float32Array.from(top, (h) => h.score);
    return penalty ? { rows, scores, rankScores: Float32Array.from(top, (h) => h.rank) } : { rows, scores };
  }

  /** All queries at once over all rows (each row read once), INT8 queries; returns the hits kept per query. */
  private scanSimd(queries: Float32Array, nq: number, list: number, q: CoreBuffer, rows: CoreBuffer, scores: CoreBuffer): number {
    const { dim } = this;
    const qv = q.i8(nq * dim);
    for (let i = 0; i < nq; i++) {
      let max = 0;
      for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(queries[i * dim + j]));
      const inv = max > 0 ? 127 / max : 0;
      for (let j = 0; j < dim; j++) qv[i * dim + j] = Math.round(queries[i * dim + j] * inv);
    }
    return this.core.exports.searchI8(
      this.int8.aligned,
      this.scales.aligned,
      this.count,
      dim,
      q.aligned,
      nq,
      list,
      rows.aligned,
      scores.aligned,
    );
  }

  /** One pass per query over all rows (4 rows per step, query as u7), then a top-`list` selection. */
  private scanRelaxed(queries: Float32Array, nq: number, list: number, rows: CoreBuffer, scores: CoreBuffer): number {
    const { dim, count } = this;
    const e = this.core.exports;
    const { scores: all, query, queryU7, queryScale } = this.scanBuffers!;
    let kept = 0;
    for (let i = 0; i < nq; i++) {
      query.f32(dim).set(queries.subarray(i * dim, (i + 1) * dim));
      e.quantizeRowsU7!(query.aligned, 1, dim, queryU7.aligned, queryScale.aligned);
      e.scoresI8U7!(this.int8.aligned, this.scales.aligned, this.rowSums64!.aligned, count, dim, queryU7.aligned, all.aligned);
      kept = e.selectTopK(all.aligned, count, list, rows.aligned + i * list * 4, scores.aligned + i * list * 4);
    }
    return kept;
  }

  dispose(): void {
    this.int8.free();
    this.scales.free();
    this.rowSums64?.free();
    for (const b of Object.values(this.scanBuffers ?? {})) b.free();
  }
}
