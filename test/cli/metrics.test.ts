import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { openNodeMetrics } from "../../src/db/sqlite-node.ts";
import { tempDir } from "../helpers.ts";

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
});
afterEach(() => vi.restoreAllMocks());

async function fill(path: string): Promise<void> {
  const recorder = openNodeMetrics(path, { flushIntervalMs: 0 });
  const now = Date.now();
  for (let i = 1; i <= 100; i++) {
    recorder.record({
      ts: now - 1000,
      endpoint: "/v1/predict",
      status: 200,
      embedMs: i / 10,
      lvmMs: 2,
      searchMs: i,
      totalMs: i + 0.5,
      runtime: "node",
    });
  }
  recorder.record({ ts: now - 1000, endpoint: "/v1/predict", status: 400, totalMs: 0.25, runtime: "node" });
  recorder.record({ ts: now - 3 * 3_600_000, endpoint: "/v1/old", status: 200, totalMs: 9, runtime: "node" });
  await recorder.close();
}

describe("lvm metrics", () => {
  it("prints p50/p95/p99 per endpoint and stage, and requests per status, over the window", async () => {
    await using dir = await tempDir();
    const db = join(dir.path, "m.sqlite");
    await fill(db);
    expect(await main(["metrics", "--db", db])).toBe(0);
    const text = out.join("\n");
    expect(text).toMatch(/^request metrics since .* \(last 60 min\), latency in ms/);
    expect(text).toContain(
      [
        "endpoint     stage   count   p50   p95   p99",
        "-----------  ------  -----  ----  ----  ----",
        "/v1/predict  embed     100   5.0   9.5   9.9",
        "/v1/predict  lvm       100   2.0   2.0   2.0",
        "/v1/predict  search    100  50.0  95.0  99.0",
        "/v1/predict  total     101  50.5  95.5  99.5",
      ].join("\n"),
    );
    expect(text).toMatch(/\/v1\/predict\s+200\s+100\n\/v1\/predict\s+400\s+1/);
    expect(text).not.toContain("/v1/old");

    out = [];
    expect(await main(["metrics", "--db", db, "--window", "240", "--json"])).toBe(0);
    const summary = JSON.parse(out.join("\n"));
    expect(summary.windowMs).toBe(240 * 60_000);
    expect(summary.rows).toContainEqual({ endpoint: "/v1/old", stage: "total", count: 1, p50: 9, p95: 9, p99: 9 });
  });

  it("purges before a date, or everything", async () => {
    await using dir = await tempDir();
    const db = join(dir.path, "m.sqlite");
    await fill(db);
    const before = new Date(Date.now() - 3_600_000).toISOString();
    expect(await main(["metrics", "--db", db, "--purge", "--before", before])).toBe(0);
    expect(out.pop()).toBe(`deleted 1 request metric recorded before ${before} from ${db}`);
    expect(await main(["metrics", "--db", db, "--purge"])).toBe(0);
    expect(out.pop()).toBe(`deleted 101 request metrics from ${db}`);
    expect(await main(["metrics", "--db", db])).toBe(0);
    expect(out.join("\n")).toContain("no requests recorded in this window");
  });

  it("explains a missing database, a file that is not one, and bad options", async () => {
    await using dir = await tempDir();
    expect(await main(["metrics", "--db", join(dir.path, "none.sqlite")])).toBe(1);
    expect(err.pop()).toMatch(/^lvm metrics: no metrics database at .*none\.sqlite/);
    const junk = join(dir.path, "junk.sqlite");
    writeFileSync(junk, "this is not a database, not even close".repeat(50));
    expect(await main(["metrics", "--db", junk])).toBe(1);
    expect(err.pop()).toMatch(/^lvm metrics: cannot open .*junk\.sqlite: .*not a database/);
    expect(await main(["metrics", "--before", "2026-01-01"])).toBe(2);
    expect(err.pop()).toMatch(/--before only goes with --purge/);
    expect(await main(["metrics", "--purge", "--before", "yesterday"])).toBe(2);
    expect(err.pop()).toMatch(/--before must be an ISO date/);
    expect(await main(["metrics", "--window", "0"])).toBe(2);
    expect(await main(["metrics", "--help"])).toBe(0);
    expect(out.pop()).toMatch(/^lvm metrics: print request latency percentiles .*\n\nlvm metrics \[--db <file>\]/);
  });
});
