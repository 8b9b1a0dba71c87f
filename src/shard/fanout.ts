/**
 * The Worker side of sharded serving: one query fanned out to every shard (each a Durable Object holding a
 * ShardSearcher), the shards' top-k merged into the store's top-k. A shard that fails or does not answer within the
 * timeout is left out and reported (the answer is partial and says which shards answered); only when no shard answers
 * does the request fail (503). The hits' texts, provenance and INT8 rows land in a RowCache, which the ShardedStore
 * (src/shard/sharded-store.ts) reads, so the prediction service can name and reuse the rows it was given.
 */
import { RequestError } from "../predict/errors.ts";
import type { ShardManifest } from "./format.ts";
import type { ShardHits, ShardQuery, ShardRows } from "./shard-searcher.ts";

/** A shard's Durable Object as the Worker calls it (RPC). */
export interface ShardStub {
  search(query: ShardQuery): Promise<ShardHits>;
  rows(rows: number[]): Promise<ShardRows>;
}

/** Which shards answered this request, and why the others did not. */
export interface FanOutReport {
  total: number;
  answered: Set<number>;
  failed: Map<number, string>;
}

export function newReport(total: number): FanOutReport {
  return { total, answered: new Set(), failed: new Map() };
}

export interface CachedRow {
  text: string;
  document: number;
  position: number;
  int8: Int8Array;
  scale: number;
}

/** Rows the shards have sent, most recently used last; bounded. */
export class RowCache {
  readonly #rows = new Map<number, CachedRow>();
  readonly #limit: number;
  constructor(limit = 20_000) {
    this.#limit = limit;
  }
  get(row: number): CachedRow | undefined {
    const hit = this.#rows.get(row);
    if (hit) {
      this.#rows.delete(row);
      this.#rows.set(row, hit);
    }
    return hit;
  }
  has(row: number): boolean {
    return this.#rows.has(row);
  }
  add(rows: ShardRows): void {
    const dim = rows.rows.length > 0 ? rows.int8.length / rows.rows.length : 0;
    rows.rows.forEach((row, i) => {
      this.#rows.delete(row);
      this.#rows.set(row, {
        text: rows.texts[i],
        document: rows.documents[i],
        position: rows.positions[i],
        int8: rows.int8.slice(i * dim, (i + 1) * dim),
        scale: rows.scales[i],
      });
    });
    for (const row of this.#rows.keys()) {
      if (this.#rows.size <= this.#limit) break;
      this.#rows.delete(row);
    }
  }
}

export interface FanOutOptions {
  /** Give up on a shard after this long. Default 5000 ms. */
  timeoutMs?: number;
  /** The current request's report (the Worker keeps one per request); absent outside a request. */
  report?: () => FanOutReport | undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Calls `work` on every shard (or those named), collecting answers and failures into the report. */
async function fanOut<T>(
  stub: (index: number) => ShardStub,
  shards: number[],
  work: (s: ShardStub, index: number) => Promise<T>,
  options: FanOutOptions,
): Promise<T[]> {
  const report = options.report?.();
  const settled = await Promise.allSettled(shards.map((i) => withTimeout(work(stub(i), i), options.timeoutMs ?? 5000)));
  const answers: T[] = [];
  settled.forEach((s, n) => {
    const index = shards[n];
    if (s.status === "fulfilled") {
      answers.push(s.value);
      report?.answered.add(index);
    } else {
      report?.failed.set(index, String((s.reason as Error)?.message ?? s.reason).slice(0, 200));
    }
  });
  if (answers.length === 0 && shards.length > 0) {
    const why = settled
      .map((s, n) => (s.status === "rejected" ? `shard ${shards[n]}: ${(s.reason as Error)?.message ?? s.reason}` : ""))
      .filter(Boolean);
    throw new RequestError(503, "shards_unavailable", `no shard answered (${why.join("; ").slice(0, 500)})`);
  }
  return answers;
}

/** Top-k over all shards: each shard's top-k, merged (score descending, lower row first on ties, as CoreIndex orders). */
export class ShardedIndex {
  readonly kind: string;
  readonly #manifest: ShardManifest;
  readonly #stub: (index: number) => ShardStub;
  readonly #cache: RowCache;
  readonly #exact: boolean;
  readonly #options: FanOutOptions;

  constructor(manifest: ShardManifest, stub: (index: number) => ShardStub, cache: RowCache, exact: boolean, options: FanOutOptions = {}) {
    this.#manifest = manifest;
    this.#stub = stub;
    this.#cache = cache;
    this.#exact = exact;
    this.#options = options;
    this.kind = `${exact ? "exact" : "hnsw"}-sharded-${manifest.shards.length}`;
  }

  async search(query: Float32Array, k: number, exclude?: ReadonlySet<number>, options?: { ef?: number }) {
    const request: ShardQuery = { query, k, exclude: exclude ? [...exclude] : undefined, exact: this.#exact, ef: options?.ef };
    const all = this.#manifest.shards.map((s) => s.index);
    const answers = await fanOut(this.#stub, all, (s) => s.search(request), this.#options);
    const merged: { row: number; score: number }[] = [];
    for (const a of answers) {
      this.#cache.add(a);
      a.rows.forEach((row, i) => {
        merged.push({ row, score: a.scores[i] });
      });
    }
    merged.sort((a, b) => b.score - a.score || a.row - b.row);
    const top = merged.slice(0, k);
    return { rows: Int32Array.from(top, (h) => h.row), scores: Float32Array.from(top, (h) => h.score) };
  }
}

/** Index of the shard holding a store row (binary search over the manifest's ranges), or -1. */
export function shardOf(manifest: ShardManifest, row: number): number {
  let lo = 0;
  let hi = manifest.shards.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = manifest.shards[mid];
    if (row < s.first) hi = mid - 1;
    else if (row >= s.first + s.count) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Fetch the named store rows (those not cached) from their shards into the cache. */
export async function prefetchRows(
  manifest: ShardManifest,
  stub: (index: number) => ShardStub,
  cache: RowCache,
  rows: number[],
  options: FanOutOptions = {},
): Promise<void> {
  const byShard = new Map<number, number[]>();
  for (const row of rows) {
    if (!Number.isInteger(row) || cache.has(row)) continue;
    const shard = shardOf(manifest, row);
    if (shard < 0) continue; // out of range: the service answers 404 for it
    byShard.set(shard, [...(byShard.get(shard) ?? []), row]);
  }
  if (byShard.size === 0) return;
  const answers = await fanOut(stub, [...byShard.keys()], (s, i) => s.rows(byShard.get(i) ?? []), options);
  for (const a of answers) cache.add(a);
}
