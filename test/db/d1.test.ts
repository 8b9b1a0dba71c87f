import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { D1_MAX_PARAMS, openD1Metrics } from "../../src/db/d1.ts";
import { MIGRATIONS } from "../../src/db/migrations.gen.ts";
import { metric, shuffled } from "./helpers.ts";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

describe("MetricsRecorder over D1 (in-process via miniflare)", () => {
  let mf: Miniflare;
  let d1: Awaited<ReturnType<Miniflare["getD1Database"]>>;

  beforeAll(async () => {
    mf = new Miniflare({ modules: true, script: "export default {}", d1Databases: ["DB"] });
    d1 = await mf.getD1Database("DB");
  });
  afterAll(async () => {
    await mf?.dispose();
  });

  it("applies the embedded migrations once, writes batches split under D1's parameter limit, summarizes and purges", async () => {
    const errors: string[] = [];
    const recorder = await openD1Metrics(d1, { flushIntervalMs: 0, onError: (m) => errors.push(m) });
    expect(recorder.health()).toMatchObject({ state: "ok", failures: 0 });
    // A second isolate opening the same database applies nothing again.
    const second = await openD1Metrics(d1);
    expect(second.health().state).toBe("ok");
    const applied = await d1.prepare("SELECT hash FROM __drizzle_migrations").all<{ hash: string }>();
    expect(applied.results.map((r: { hash: string }) => r.hash)).toEqual(MIGRATIONS.map((m) => m.hash));

    const now = Date.now();
    // 100 rows > 100 / 11 rows per statement: each 64-row batch goes as several INSERTs in one D1 batch.
    expect(D1_MAX_PARAMS).toBe(100);
    for (const i of shuffled(100)) recorder.record(metric(i, { ts: now - 1000, runtime: "worker", model: null, k: null }));
    await recorder.flush();
    expect(recorder.health()).toMatchObject({ state: "ok", buffered: 0, written: 100, dropped: 0, failures: 0 });
    expect(errors).toEqual([]);

    const row = await d1.prepare("SELECT * FROM request_metrics WHERE total_ms = 7").first();
    expect(row).toMatchObject({
      endpoint: "/v1/predict",
      model: null,
      k: null,
      status: 200,
      embed_ms: 14,
      runtime: "worker",
      backend: "core-int8",
    });

    const summary = await recorder.summary({ windowMs: 60_000, now });
    expect(summary.rows.find((r) => r.stage === "total")).toEqual({
      endpoint: "/v1/predict",
      stage: "total",
      count: 100,
      p50: 50,
      p95: 95,
      p99: 99,
    });
    expect(summary.rows.map((r) => r.stage)).toEqual(["embed", "lvm", "search", "total"]);
    expect(summary.requests).toEqual([{ endpoint: "/v1/predict", status: 200, count: 100 }]);

    recorder.record(metric(1, { ts: now - 10 * 60_000, runtime: "worker" }));
    expect(await recorder.purge({ before: now - 60_000 })).toEqual({ deleted: 1 });
    expect(await recorder.purge()).toEqual({ deleted: 100 });
    expect((await recorder.summary({ now })).rows).toEqual([]);
    await recorder.close();
    await second.close();
  });

  it("needs the split: D1 refuses a 64-row INSERT (more than 100 bound parameters)", async () => {
    const recorder = await openD1Metrics(d1, { maxParams: 32_766, flushIntervalMs: 0, onError: () => {} });
    for (let i = 1; i <= 64; i++) recorder.record(metric(i, { runtime: "worker" }));
    await recorder.flush();
    expect(recorder.health()).toMatchObject({ state: "failing", written: 0, buffered: 64 });
    expect(recorder.health().lastError).toMatch(/too many SQL variables/);
  });

  it("a failing D1 leaves record() harmless and reports once", async () => {
    const errors: string[] = [];
    const recorder = await openD1Metrics(d1, { flushIntervalMs: 0, onError: (m) => errors.push(m) });
    await d1.exec("DROP TABLE request_metrics");
    try {
      recorder.record(metric(1, { runtime: "worker" }));
      await recorder.flush();
      recorder.record(metric(2, { runtime: "worker" }));
      await recorder.flush();
      expect(recorder.health()).toMatchObject({ state: "failing", buffered: 2, written: 0, failures: 2 });
      expect(recorder.health().lastError).toMatch(/no such table: request_metrics/);
      expect(errors).toHaveLength(1);
    } finally {
      await d1.exec("DELETE FROM __drizzle_migrations");
    }
    // Re-migrating (a fresh isolate) restores the table and the buffered rows go through.
    expect((await openD1Metrics(d1)).health().state).toBe("ok");
    await recorder.flush();
    expect(recorder.health()).toMatchObject({ state: "ok", buffered: 0, written: 2 });
  });
});
