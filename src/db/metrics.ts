// Request metrics (issue 6), runtime-agnostic: one MetricsRecorder serves a synchronous Drizzle database (better-sqlite3 on
// Node, src/db/sqlite-node.ts), an asynchronous one (D1 in the Worker, src/db/d1.ts) and Postgres (node-postgres, for
// Node replicas sharing one database: src/db/postgres-node.ts), because Drizzle's query builders are awaitable on all. Logging never blocks or fails a request: record() only pushes to an in-memory buffer; rows are
// written in batches (one multi-row INSERT per batch) by a timer or when the batch fills; a failed write keeps a bounded
// number of rows for the next attempt, counts what it has to drop and reports the failure once through onError.
import { lt, type SQL, sql } from "drizzle-orm";
import { PgDatabase } from "drizzle-orm/pg-core";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { type NewRequestMetricRow, RUNTIMES, type Runtime, requestMetrics } from "./schema.ts";
import { requestMetricsPg } from "./schema-pg.ts";

export type { Runtime } from "./schema.ts";

/** What the HTTP layer records for one request. Durations are milliseconds; a stage the request did not run is left out. */
export interface RequestMetric {
  /** Request start, epoch milliseconds. */
  ts: number;
  endpoint: string;
  model?: string | null;
  k?: number | null;
  status: number;
  embedMs?: number | null;
  lvmMs?: number | null;
  searchMs?: number | null;
  totalMs: number;
  runtime: Runtime;
  backend?: string | null;
}

export const STAGES = ["embed", "lvm", "search", "total"] as const;
export type Stage = (typeof STAGES)[number];

export interface MetricsSummaryRow {
  endpoint: string;
  stage: Stage;
  /** Requests in the window that ran this stage. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface MetricsSummary {
  windowMs: number;
  /** Start of the window, epoch milliseconds (rows with ts >= since are counted). */
  since: number;
  /** Latency percentiles per endpoint and stage, ordered by endpoint then stage (embed, lvm, search, total). */
  rows: MetricsSummaryRow[];
  /** Request counts per endpoint and HTTP status in the window. */
  requests: { endpoint: string; status: number; count: number }[];
}

export interface MetricsHealth {
  /** 'ok': writing; 'failing': the last write failed (rows are kept and retried); 'unavailable': the database could not be opened. */
  state: "ok" | "failing" | "unavailable";
  buffered: number;
  written: number;
  /** Rows lost: recorded while the database was unavailable or after close(), or pushed out of a full buffer. */
  dropped: number;
  /** Rows refused by record() as malformed (no endpoint, non-finite ts/status/totalMs, unknown runtime); never written. */
  rejected: number;
  failures: number;
  lastError: string | null;
}

export interface MetricsRecorderOptions {
  /** Rows per INSERT batch; reaching it schedules a flush at once. Default 64. */
  batchSize?: number;
  /** Flush buffered rows at most this long after they were recorded; 0 disables the timer (call flush() yourself). Default 1000. */
  flushIntervalMs?: number;
  /** Rows kept in memory while the database fails; beyond it the oldest are dropped and counted. Default 10 000. */
  maxBuffered?: number;
  /** Bound parameters allowed per statement: D1 allows 100, SQLite 32 766. A batch larger than that is split. Default 32 766. */
  maxParams?: number;
  /** Called once per failure episode (again only after a successful write). Default: console.error. */
  onError?: (message: string, error: unknown) => void;
  /** Names the database in messages, e.g. its path. */
  label?: string;
  /**
   * Settles when the database is usable (Postgres: connected and migrated). Writes, summary() and purge() wait for it;
   * if it rejects, the recorder turns 'unavailable' as if the database could not be opened (rows dropped and counted).
   */
  ready?: Promise<void>;
}

/** Thrown by summary() and purge() when the metrics database could not be opened at all. */
export class MetricsUnavailableError extends Error {
  override name = "MetricsUnavailableError";
}

/** Any Drizzle SQLite database: better-sqlite3 ('sync') or D1 ('async'). */
// biome-ignore lint/suspicious/noExplicitAny: the run-result and schema types differ per driver and are not used here.
export type MetricsSqliteDatabase = BaseSQLiteDatabase<"sync" | "async", any, any>;
/** A Drizzle Postgres database (node-postgres). */
// biome-ignore lint/suspicious/noExplicitAny: as above.
export type MetricsPgDatabase = PgDatabase<any, any, any>;
export type MetricsDatabase = MetricsSqliteDatabase | MetricsPgDatabase;

/** The one place the two dialects differ: the table object, how raw rows come back, and how a delete counts. */
interface Dialect {
  // biome-ignore lint/suspicious/noExplicitAny: insert/delete take either dialect's table; rows are the same shape.
  table: any;
  all<T>(query: SQL): Promise<T[]>;
  /** Postgres sorts text by the database's collation: ask for byte order, as SQLite's BINARY gives. */
  byteOrder: SQL;
}

function dialectOf(db: MetricsDatabase): Dialect {
  if (db instanceof PgDatabase) {
    return {
      table: requestMetricsPg,
      all: async <T>(query: SQL) => (await db.execute(query)).rows as T[],
      byteOrder: sql.raw(' COLLATE "C"'),
    };
  }
  return { table: requestMetrics, all: async <T>(query: SQL) => (await db.all(query)) as T[], byteOrder: sql.raw("") };
}

/** Bound parameters per inserted row: every column but id. */
const PARAMS_PER_ROW = 11;
const MAX_RETRY_DELAY_MS = 30_000;

function defaultOnError(message: string): void {
  console.error(message);
}

/** The root cause's message: drizzle wraps driver errors as "Failed query: <sql> params: <values>", which says too much. */
function errorText(error: unknown): string {
  for (let depth = 0; depth < 5 && error instanceof Error && error.cause instanceof Error; depth++) error = error.cause;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function isValid(m: RequestMetric): boolean {
  return (
    typeof m === "object" &&
    m !== null &&
    typeof m.endpoint === "string" &&
    Number.isFinite(m.ts) &&
    Number.isInteger(m.status) &&
    Number.isFinite(m.totalMs) &&
    RUNTIMES.includes(m.runtime)
  );
}

/** Optional numbers: anything but a finite number (undefined, NaN, a string) is stored as NULL. */
function optional(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function optionalText(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function toRow(m: RequestMetric): NewRequestMetricRow {
  return {
    ts: Math.round(m.ts),
    endpoint: m.endpoint,
    model: optionalText(m.model),
    k: Number.isInteger(m.k) ? (m.k as number) : null,
    status: m.status,
    embedMs: optional(m.embedMs),
    lvmMs: optional(m.lvmMs),
    searchMs: optional(m.searchMs),
    totalMs: m.totalMs,
    runtime: m.runtime,
    backend: optionalText(m.backend),
  };
}

function hasBatch(db: MetricsDatabase): db is MetricsDatabase & { batch(queries: readonly unknown[]): Promise<unknown> } {
  return typeof (db as { batch?: unknown }).batch === "function";
}

/**
 * Buffers request metrics and writes them in batches. record() never throws and never waits; flush(), summary(), purge()
 * and close() return promises. Build one with openNodeMetrics() (src/db/sqlite-node.ts) or openD1Metrics() (src/db/d1.ts).
 */
export class MetricsRecorder {
  #db: MetricsDatabase | null;
  readonly #dialect: Dialect | null;
  readonly #ready: Promise<void>;
  readonly #label: string;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #maxBuffered: number;
  readonly #rowsPerStatement: number;
  readonly #onError: (message: string, error: unknown) => void;
  readonly #closeDatabase: (() => void | Promise<void>) | undefined;
  /** Rows converted at record() time, so that a caller mutating its object later changes nothing. */
  #buffer: NewRequestMetricRow[] = [];
  #written = 0;
  #dropped = 0;
  #rejected = 0;
  #failures = 0;
  #lastError: string | null = null;
  #failing = false;
  #reported = false;
  #consecutiveFailures = 0;
  #retryAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * @param db a Drizzle SQLite database whose schema is already migrated, or null for a recorder that could not open its
   *   database (see MetricsRecorder.unavailable).
   * @param closeDatabase closes the underlying connection on close().
   */
  constructor(db: MetricsDatabase | null, options: MetricsRecorderOptions = {}, closeDatabase?: () => void | Promise<void>) {
    this.#db = db;
    this.#dialect = db === null ? null : dialectOf(db);
    this.#ready = (options.ready ?? Promise.resolve()).then(
      () => {},
      (error) => this.#becomeUnavailable(error),
    );
    this.#label = options.label ?? "the metrics database";
    this.#batchSize = Math.max(1, Math.floor(options.batchSize ?? 64));
    this.#intervalMs = Math.max(0, options.flushIntervalMs ?? 1000);
    this.#maxBuffered = Math.max(this.#batchSize, Math.floor(options.maxBuffered ?? 10_000));
    this.#rowsPerStatement = Math.max(1, Math.floor((options.maxParams ?? 32_766) / PARAMS_PER_ROW));
    this.#onError = options.onError ?? defaultOnError;
    this.#closeDatabase = closeDatabase;
  }

  /** A recorder whose database could not be opened: it drops every row, counts it, and has reported `error` once. */
  static unavailable(error: unknown, options: MetricsRecorderOptions = {}): MetricsRecorder {
    const recorder = new MetricsRecorder(null, { ...options, ready: undefined });
    recorder.#becomeUnavailable(error);
    return recorder;
  }

  /** The database could not be opened (at once, or when `ready` rejected): drop what is buffered, report once. */
  #becomeUnavailable(error: unknown): void {
    this.#db = null;
    this.#clearTimer();
    this.#dropped += this.#buffer.length;
    this.#buffer = [];
    this.#failures++;
    this.#lastError = `cannot open ${this.#label}: ${errorText(error)}`;
    this.#report(
      `lvm metrics: ${this.#lastError}. Requests are served as usual but their metrics are dropped (counted in health()).`,
      error,
    );
  }

  /** Buffer one request's metrics. Never throws, never waits: writing happens later, in batches. */
  record(metric: RequestMetric): void {
    try {
      // A malformed row would fail its whole batch on every retry: refuse it here instead.
      if (!isValid(metric)) {
        this.#rejected++;
        return;
      }
      if (this.#db === null || this.#closed) {
        this.#dropped++;
        return;
      }
      this.#buffer.push(toRow(metric));
      const over = this.#buffer.length - this.#maxBuffered;
      if (over > 0) {
        this.#buffer.splice(0, over);
        this.#dropped += over;
      }
      const now = Date.now();
      if (this.#buffer.length >= this.#batchSize) this.#schedule(Math.max(0, this.#retryAt - now));
      else if (this.#intervalMs > 0) this.#schedule(Math.max(this.#intervalMs, this.#retryAt - now));
    } catch {
      // A metrics bug must not fail the request.
    }
  }

  /** Write everything buffered now (after any write in progress). Never rejects: a failure is recorded in health(). */
  flush(): Promise<void> {
    this.#clearTimer();
    this.#flushing = this.#flushing
      .then(() => this.#ready)
      .then(() => this.#drain())
      .catch((error) => this.#fail(error, `flushing to ${this.#label}`));
    return this.#flushing;
  }

  health(): MetricsHealth {
    return {
      state: this.#db === null ? "unavailable" : this.#failing ? "failing" : "ok",
      buffered: this.#buffer.length,
      written: this.#written,
      dropped: this.#dropped,
      rejected: this.#rejected,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /**
   * Latency percentiles per endpoint and stage over the last `windowMs` (default one hour), buffered rows included.
   * Percentiles are nearest-rank — pN is the value at 1-based rank ceil(N/100 · count) of the sorted latencies, so over
   * 1..100 ms p50 = 50, p95 = 95, p99 = 99 — computed inside SQLite with window functions (nothing is loaded into memory).
   */
  async summary(options: { windowMs?: number; now?: number } = {}): Promise<MetricsSummary> {
    await this.flush();
    this.#require();
    const dialect = this.#dialect as Dialect;
    const windowMs = options.windowMs ?? 3_600_000;
    const since = (options.now ?? Date.now()) - windowMs;
    const stageRows = await dialect.all<{ endpoint: string; stage: Stage; count: number; p50: number; p95: number; p99: number }>(sql`
      WITH w AS (SELECT endpoint, embed_ms, lvm_ms, search_ms, total_ms FROM request_metrics WHERE ts >= ${since}),
      s AS (
        SELECT endpoint, 'embed' AS stage, embed_ms AS v FROM w WHERE embed_ms IS NOT NULL
        UNION ALL SELECT endpoint, 'lvm', lvm_ms FROM w WHERE lvm_ms IS NOT NULL
        UNION ALL SELECT endpoint, 'search', search_ms FROM w WHERE search_ms IS NOT NULL
        UNION ALL SELECT endpoint, 'total', total_ms FROM w
      ),
      r AS (
        SELECT endpoint, stage, v,
          ROW_NUMBER() OVER (PARTITION BY endpoint, stage ORDER BY v) AS rn,
          COUNT(*) OVER (PARTITION BY endpoint, stage) AS n
        FROM s
      )
      SELECT endpoint, stage, MAX(n) AS count,
        MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN v END) AS p50,
        MAX(CASE WHEN rn = (n * 95 + 99) / 100 THEN v END) AS p95,
        MAX(CASE WHEN rn = (n * 99 + 99) / 100 THEN v END) AS p99
      FROM r GROUP BY endpoint, stage ORDER BY endpoint${dialect.byteOrder}, stage${dialect.byteOrder}`);
    const requests = await dialect.all<{ endpoint: string; status: number; count: number }>(sql`
      SELECT endpoint, status, COUNT(*) AS count FROM request_metrics WHERE ts >= ${since}
      GROUP BY endpoint, status ORDER BY endpoint${dialect.byteOrder}, status`);
    return {
      windowMs,
      since,
      rows: stageRows.map((r) => ({
        endpoint: r.endpoint,
        stage: r.stage,
        count: Number(r.count),
        p50: Number(r.p50),
        p95: Number(r.p95),
        p99: Number(r.p99),
      })),
      requests: requests.map((r) => ({ endpoint: r.endpoint, status: Number(r.status), count: Number(r.count) })),
    };
  }

  /** Delete the rows recorded before `before` (epoch ms; default: all rows), buffered ones written first. */
  async purge(options: { before?: number } = {}): Promise<{ deleted: number }> {
    await this.flush();
    // biome-ignore lint/suspicious/noExplicitAny: delete() is called the same way on both dialects' databases.
    const db = this.#require() as any;
    const table = (this.#dialect as Dialect).table;
    const query = options.before === undefined ? db.delete(table) : db.delete(table).where(lt(table.ts, options.before));
    // better-sqlite3: changes; D1: meta.changes; node-postgres: rowCount.
    const result = (await query) as { changes?: number; meta?: { changes?: number }; rowCount?: number | null };
    return { deleted: Number(result.changes ?? result.meta?.changes ?? result.rowCount ?? 0) };
  }

  /** Flush, stop the timer, close the database; later record() calls only count drops. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    this.#clearTimer();
    try {
      await this.#closeDatabase?.();
    } catch (error) {
      this.#fail(error, `closing ${this.#label}`);
    }
  }

  #require(): MetricsDatabase {
    if (this.#db === null) throw new MetricsUnavailableError(`metrics are unavailable: ${this.#lastError}`);
    return this.#db;
  }

  #schedule(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    this.#clearTimer();
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
    // Node: the timer must not keep the process alive. (Workers return a number and need no unref.)
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #drain(): Promise<void> {
    const db = this.#db;
    if (db === null) return;
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, this.#batchSize);
      try {
        await this.#write(db, batch);
      } catch (error) {
        // Put the batch back in front (order kept), bounded: the oldest rows go first.
        this.#buffer.unshift(...batch);
        const over = this.#buffer.length - this.#maxBuffered;
        if (over > 0) {
          this.#buffer.splice(0, over);
          this.#dropped += over;
        }
        this.#fail(error, `writing ${batch.length} request metrics to ${this.#label}`);
        // Retry later, backing off up to 30 s, while new rows keep being buffered.
        this.#consecutiveFailures++;
        const delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * 2 ** (this.#consecutiveFailures - 1));
        this.#retryAt = Date.now() + delay;
        if (!this.#closed) this.#schedule(delay);
        return;
      }
      this.#written += batch.length;
      this.#failing = false;
      this.#reported = false;
      this.#consecutiveFailures = 0;
      this.#retryAt = 0;
    }
  }

  async #write(database: MetricsDatabase, rows: NewRequestMetricRow[]): Promise<void> {
    // biome-ignore lint/suspicious/noExplicitAny: insert() is called the same way on both dialects' databases.
    const db = database as any;
    const table = (this.#dialect as Dialect).table;
    if (rows.length <= this.#rowsPerStatement) {
      await db.insert(table).values(rows);
      return;
    }
    const statements = [];
    for (let i = 0; i < rows.length; i += this.#rowsPerStatement) {
      statements.push(db.insert(table).values(rows.slice(i, i + this.#rowsPerStatement)));
    }
    // D1: one round trip, applied atomically. Elsewhere (only with a small maxParams) one statement after another.
    if (hasBatch(db)) await db.batch(statements);
    else for (const statement of statements) await statement;
  }

  #fail(error: unknown, doing: string): void {
    this.#failures++;
    this.#failing = true;
    this.#lastError = `${doing}: ${errorText(error)}`;
    this.#report(
      `lvm metrics: failed ${this.#lastError}. Requests are unaffected; up to ${this.#maxBuffered} rows are kept in memory and retried ` +
        "(older ones are dropped and counted). Further failures are counted in health() until a write succeeds.",
      error,
    );
  }

  #report(message: string, error: unknown): void {
    if (this.#reported) return;
    this.#reported = true;
    try {
      this.#onError(message, error);
    } catch {
      // The error callback must not break the recorder either.
    }
  }
}
