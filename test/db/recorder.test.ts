import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type MetricsRecorder, type MetricsRecorderOptions, MetricsUnavailableError, type RequestMetric } from "../../src/db/metrics.ts";
import { openPostgresMetrics } from "../../src/db/postgres-node.ts";
import { openNodeMetrics } from "../../src/db/sqlite-node.ts";
import { tempDir } from "../helpers.ts";
import { metric, shuffled } from "./helpers.ts";
import { startPostgres, type TestPostgres } from "./postgres-server.ts";

/**
 * record() must return at once, whatever the database is doing: it returns nothing to wait on and touches no database
 * (a synchronous write attempt against a locked or read-only file would have failed, and counted, before it returned).
 */
function recordAll(recorder: MetricsRecorder, n: number, from = 1): void {
  const before = recorder.health();
  for (let i = from; i < from + n; i++) expect(recorder.record(metric(i))).toBeUndefined();
  const after = recorder.health();
  expect(after.failures).toBe(before.failures);
  expect(after.written).toBe(before.written);
  expect(after.buffered + after.dropped).toBe(before.buffered + before.dropped + n);
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

/** One metrics database for a test, on either backend. */
interface Target {
  open(options?: MetricsRecorderOptions & { busyTimeoutMs?: number; lockTimeoutMs?: number }): MetricsRecorder;
  /** Rows as another connection sees them. */
  query(text: string): Promise<Record<string, unknown>[]>;
  /** Another connection holds the table locked against writes until release() (the recorder must be open and migrated). */
  lock(): Promise<{ release(): Promise<void> }>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Backend {
  name: string;
  /** Why this backend is not tested here, or undefined. */
  skip(): string | undefined;
  target(): Promise<Target>;
  /** A target that cannot be opened at all, and the message its lastError must match. */
  unopenable(dir: string): { target: string; error: RegExp };
  /** What lastError says while another connection holds the lock. */
  lockedError: RegExp;
}

const sqlite: Backend = {
  name: "SQLite (better-sqlite3)",
  skip: () => undefined,
  async target() {
    const dir = await tempDir();
    const path = join(dir.path, "m.sqlite");
    return {
      open: (options) => openNodeMetrics(path, options),
      query: async (text) => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare(text).all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      },
      async lock() {
        const other = new Database(path);
        other.exec("BEGIN EXCLUSIVE");
        return {
          release: async () => {
            other.exec("ROLLBACK");
            other.close();
          },
        };
      },
      [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
    };
  },
  unopenable(dir) {
    const file = join(dir, "not-a-dir");
    writeFileSync(file, "x");
    return { target: join(file, "metrics.sqlite"), error: /cannot open .*not-a-dir\/metrics\.sqlite: .*(ENOTDIR|EEXIST|not a directory)/ };
  },
  lockedError: /writing \d+ request metrics to .*m\.sqlite: SQLITE_BUSY: database is locked/,
};

let server: TestPostgres | string | undefined;
const postgres: Backend = {
  name: "Postgres (node-postgres)",
  skip: () => (typeof server === "string" ? server : undefined),
  async target() {
    const url = await (server as TestPostgres).createDatabase();
    const clients: pg.Client[] = [];
    const connect = async () => {
      const client = new pg.Client(url);
      await client.connect();
      clients.push(client);
      return client;
    };
    return {
      open: (options) => openPostgresMetrics(url, { lockTimeoutMs: options?.busyTimeoutMs ?? 50, ...options }),
      query: async (text) => (await (await connect()).query(text)).rows,
      async lock() {
        const other = await connect();
        await other.query("BEGIN");
        await other.query("LOCK TABLE request_metrics IN ACCESS EXCLUSIVE MODE");
        return { release: async () => void (await other.query("ROLLBACK")) };
      },
      [Symbol.asyncDispose]: async () => {
        await Promise.all(clients.map((c) => c.end()));
      },
    };
  },
  unopenable: () => ({
    target: "postgres://postgres:secret@127.0.0.1:1/none",
    error: /cannot open postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none: .*ECONNREFUSED/,
  }),
  lockedError: /writing \d+ request metrics to postgres:.*: 55P03: canceling statement due to lock timeout/,
};

beforeAll(async () => {
  server = await startPostgres();
  if (typeof server === "string") console.warn(`test/db/recorder.test.ts: ${server}`);
});

afterAll(() => {
  if (typeof server === "object") server.stop();
});

const totals = async (target: Target, order = "id") =>
  (await target.query(`SELECT total_ms FROM request_metrics ORDER BY ${order}`)).map((r) => Number(r.total_ms));
const countRows = async (target: Target) => Number((await target.query("SELECT COUNT(*) AS n FROM request_metrics"))[0].n);

for (const backend of [sqlite, postgres]) {
  describe(`MetricsRecorder over ${backend.name}`, () => {
    it("writes a full batch at once, the rest on the timer or flush(), one INSERT per batch", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using target = await backend.target();
      const recorder = target.open({ batchSize: 64, flushIntervalMs: 60_000 });
      recordAll(recorder, 63);
      await tick();
      expect(recorder.health()).toMatchObject({ buffered: 63, written: 0 });
      recordAll(recorder, 1, 64);
      for (let i = 0; i < 50 && recorder.health().written < 64; i++) await tick();
      expect(recorder.health()).toMatchObject({ buffered: 0, written: 64 });
      expect(await countRows(target)).toBe(64);
      recordAll(recorder, 10, 65);
      await recorder.flush();
      expect(recorder.health()).toMatchObject({ state: "ok", buffered: 0, written: 74, dropped: 0, failures: 0, lastError: null });
      // One multi-row INSERT per batch: 74 rows took two statements' worth of changes, in order.
      expect(await totals(target)).toEqual(Array.from({ length: 74 }, (_, i) => i + 1));
      await recorder.close();
    });

    it("flushes on its timer, which does not keep Node alive", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using target = await backend.target();
      const recorder = target.open({ flushIntervalMs: 30 });
      recordAll(recorder, 5);
      for (let i = 0; i < 50 && recorder.health().written < 5; i++) await tick();
      expect(recorder.health()).toMatchObject({ buffered: 0, written: 5 });
      await recorder.close();
      // The pending flush timer does not keep the process alive: Node counts only ref'd timers as active resources.
      await using second = await backend.target();
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
      const other = second.open({ flushIntervalMs: 60_000 });
      await other.flush();
      const before = timers();
      other.record(metric(1));
      expect(other.health().buffered).toBe(1);
      expect(timers()).toBe(before);
      await other.close();
    });

    it("summarizes p50/p95/p99 per endpoint and stage (nearest rank) over the window, with counts per status", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using target = await backend.target();
      const recorder = target.open({ flushIntervalMs: 0 });
      const now = Date.now();
      for (const i of shuffled(100)) recorder.record(metric(i, { ts: now - 1000 }));
      // /v1/search runs no lvm stage; a 400 ran nothing but still counts for total.
      for (const i of shuffled(20)) recorder.record(metric(i, { ts: now - 1000, endpoint: "/v1/search", lvmMs: undefined }));
      recorder.record(metric(1000, { ts: now - 500, endpoint: "/v1/search", status: 400, embedMs: null, lvmMs: null, searchMs: null }));
      // Outside a 1-minute window: ignored.
      recorder.record(metric(5000, { ts: now - 120_000 }));

      const summary = await recorder.summary({ windowMs: 60_000, now });
      expect(summary.since).toBe(now - 60_000);
      expect(summary.windowMs).toBe(60_000);
      expect(summary.rows).toEqual([
        { endpoint: "/v1/predict", stage: "embed", count: 100, p50: 100, p95: 190, p99: 198 },
        { endpoint: "/v1/predict", stage: "lvm", count: 100, p50: 150, p95: 285, p99: 297 },
        { endpoint: "/v1/predict", stage: "search", count: 100, p50: 200, p95: 380, p99: 396 },
        { endpoint: "/v1/predict", stage: "total", count: 100, p50: 50, p95: 95, p99: 99 },
        { endpoint: "/v1/search", stage: "embed", count: 20, p50: 20, p95: 38, p99: 40 },
        { endpoint: "/v1/search", stage: "search", count: 20, p50: 40, p95: 76, p99: 80 },
        // 21 values 1..20 and 1000: ranks ceil(10.5)=11, ceil(19.95)=20, ceil(20.79)=21.
        { endpoint: "/v1/search", stage: "total", count: 21, p50: 11, p95: 20, p99: 1000 },
      ]);
      expect(summary.requests).toEqual([
        { endpoint: "/v1/predict", status: 200, count: 100 },
        { endpoint: "/v1/search", status: 200, count: 20 },
        { endpoint: "/v1/search", status: 400, count: 1 },
      ]);
      expect((await recorder.summary({ windowMs: 1, now: now + 10_000 })).rows).toEqual([]);
      await recorder.close();
    });

    it("refuses malformed metrics up front, so that they cannot poison a batch", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using target = await backend.target();
      const recorder = target.open({ flushIntervalMs: 0 });
      recorder.record(metric(1, { totalMs: Number.NaN }));
      recorder.record(metric(2, { endpoint: undefined as unknown as string }));
      recorder.record(metric(3, { runtime: "deno" as "node" }));
      recorder.record(null as unknown as RequestMetric);
      recorder.record(metric(4, { embedMs: Number.NaN, k: 2.5, model: 7 as unknown as string }));
      await recorder.flush();
      expect(recorder.health()).toMatchObject({ state: "ok", written: 1, rejected: 4, dropped: 0, failures: 0 });
      expect(await target.query("SELECT total_ms, embed_ms, k, model FROM request_metrics")).toEqual([
        { total_ms: 4, embed_ms: null, k: null, model: null },
      ]);
      await recorder.close();
    });

    it("purges rows before a time, or all", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using target = await backend.target();
      const recorder = target.open({ flushIntervalMs: 0 });
      for (let i = 1; i <= 10; i++) recorder.record(metric(i, { ts: 1_000_000 + i }));
      expect(await recorder.purge({ before: 1_000_004 })).toEqual({ deleted: 3 });
      expect(await countRows(target)).toBe(7);
      recorder.record(metric(11));
      expect(await recorder.purge()).toEqual({ deleted: 8 });
      expect(await countRows(target)).toBe(0);
      await recorder.close();
    });

    it("keeps serving while another connection holds the table locked, reports once, then catches up", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using target = await backend.target();
      const onError = vi.fn();
      const recorder = target.open({ batchSize: 64, flushIntervalMs: 0, maxBuffered: 200, onError });
      await recorder.flush(); // open and migrated before the lock is taken
      const lock = await target.lock();
      try {
        recordAll(recorder, 64); // the full batch only schedules a write
        await tick();
        await recorder.flush();
        const health = recorder.health();
        expect(health.state).toBe("failing");
        expect(health.failures).toBeGreaterThan(0);
        expect(health.written).toBe(0);
        expect(health.buffered).toBe(64);
        expect(health.lastError).toMatch(backend.lockedError);
        expect(onError).toHaveBeenCalledTimes(1);
        expect(onError.mock.calls[0][0]).toMatch(
          /^lvm metrics: failed writing .*(database is locked|lock timeout).*Requests are unaffected/,
        );
        // Still locked: more rows are buffered up to the bound, the oldest dropped and counted; no second report.
        recordAll(recorder, 200, 65);
        await recorder.flush();
        expect(recorder.health()).toMatchObject({ buffered: 200, dropped: 64, written: 0 });
        expect(recorder.health().failures).toBeGreaterThan(1);
        expect(onError).toHaveBeenCalledTimes(1);
      } finally {
        await lock.release();
      }
      await recorder.flush();
      expect(recorder.health()).toMatchObject({ state: "ok", buffered: 0, written: 200, dropped: 64 });
      // The newest 200 (65..264) survived, in order.
      const written = await totals(target);
      expect([written.length, Math.min(...written), Math.max(...written)]).toEqual([200, 65, 264]);
      await recorder.close();
    });

    it("starts when the database cannot be opened at all, and says why", async (ctx) => {
      if (backend.skip()) return ctx.skip();
      await using dir = await tempDir();
      const { target, error } = backend.unopenable(dir.path);
      const onError = vi.fn();
      // openNodeMetrics: what `lvm serve` calls with LVM_METRICS_URL or LVM_METRICS_DB.
      const recorder = openNodeMetrics(target, { onError, connectTimeoutMs: 2000 });
      recorder.record(metric(1));
      recorder.record(metric(2));
      await recorder.flush();
      expect(recorder.health()).toMatchObject({ state: "unavailable", buffered: 0, written: 0, dropped: 2, failures: 1 });
      expect(recorder.health().lastError).toMatch(error);
      expect(onError).toHaveBeenCalledTimes(1);
      await expect(recorder.summary()).rejects.toBeInstanceOf(MetricsUnavailableError);
      await recorder.close();
    });
  });
}

describe("MetricsRecorder over better-sqlite3 only", () => {
  it("starts on a read-only database file: record() returns at once, rows are dropped and counted, the error is reported once", async (ctx) => {
    await using dir = await tempDir();
    const path = join(dir.path, "m.sqlite");
    await openNodeMetrics(path).close();
    // root ignores file modes; the immutable attribute stops it too (where the filesystem and capabilities allow).
    const root = process.getuid?.() === 0;
    if (root) {
      try {
        execFileSync("chattr", ["+i", path], { stdio: "ignore" });
      } catch {
        ctx.skip();
      }
    } else chmodSync(path, 0o444);
    try {
      const onError = vi.fn();
      const recorder = openNodeMetrics(path, { batchSize: 4, flushIntervalMs: 0, onError });
      recordAll(recorder, 10);
      await recorder.flush();
      // SQLite falls back to a read-only connection: the server starts, writes fail, rows wait (bounded) for a retry.
      const health = recorder.health();
      expect(health).toMatchObject({ state: "failing", written: 0, buffered: 10 });
      expect(health.failures).toBeGreaterThan(0);
      expect(health.lastError).toMatch(/m\.sqlite: SQLITE_READONLY: attempt to write a readonly database/);
      expect(onError).toHaveBeenCalledTimes(1);
      expect(onError.mock.calls[0][0]).toMatch(/readonly/i);
      await recorder.close();
    } finally {
      if (root) execFileSync("chattr", ["-i", path]);
      else chmodSync(path, 0o644);
    }
  });

  it("a database locked from the start (not yet in WAL) also leaves the server running", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "m.sqlite");
    const other = new Database(path);
    other.exec("CREATE TABLE hold(x); BEGIN EXCLUSIVE; INSERT INTO hold VALUES (1)");
    try {
      const errors: string[] = [];
      const recorder = openNodeMetrics(path, { onError: (message) => errors.push(message) });
      recorder.record(metric(1));
      expect(recorder.health()).toMatchObject({ state: "unavailable", dropped: 1, failures: 1 });
      expect(recorder.health().lastError).toMatch(/database is locked/);
      expect(errors).toHaveLength(1);
      await recorder.close();
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  });

  it("reports through console.error by default", async () => {
    await using dir = await tempDir();
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      writeFileSync(join(dir.path, "f"), "");
      openNodeMetrics(join(dir.path, "f", "m.sqlite"));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0][0])).toMatch(/^lvm metrics: cannot open .*metrics are dropped/);
    } finally {
      spy.mockRestore();
    }
  });
});
