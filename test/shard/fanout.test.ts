import { describe, expect, it } from "vitest";
import { RequestError } from "../../src/predict/errors.ts";
import { newReport, prefetchRows, RowCache, ShardedIndex, type ShardStub, shardOf } from "../../src/shard/fanout.ts";
import type { ShardManifest } from "../../src/shard/format.ts";
import type { ShardHits, ShardRows } from "../../src/shard/shard-searcher.ts";

const sha = "0".repeat(64);
const manifest: ShardManifest = {
  format: "lvm-edge-shards",
  version: 1,
  release: "r",
  createdAt: "",
  encoder: { id: "e", dim: 2 },
  count: 30,
  documents: { key: "d", bytes: 0, sha256: sha, count: 0 },
  hnsw: null,
  shards: [0, 1, 2].map((i) => ({ index: i, first: i * 10, count: 10, key: `s${i}`, bytes: 1, sha256: sha, object: `r/${i}` })),
};

function rowsOf(rows: number[]): ShardRows {
  return {
    rows: Int32Array.from(rows),
    texts: rows.map((r) => `text ${r}`),
    documents: new Int32Array(rows.length),
    positions: Int32Array.from(rows),
    int8: new Int8Array(rows.length * 2).fill(1),
    scales: new Float32Array(rows.length).fill(0.1),
  };
}

/** Shard i answers its rows with the given scores; "fail" rejects, "hang" never answers. */
function stubs(behaviour: (ShardHits | "fail" | "hang")[]): (i: number) => ShardStub {
  return (i) => ({
    search: () => {
      const b = behaviour[i];
      if (b === "fail") return Promise.reject(new Error(`shard ${i} broke`));
      if (b === "hang") return new Promise(() => {});
      return Promise.resolve(b);
    },
    rows: (rows) => Promise.resolve(rowsOf(rows)),
  });
}

const hits = (rows: number[], scores: number[]): ShardHits => ({ ...rowsOf(rows), scores: Float32Array.from(scores) });

describe("fan-out over shards", () => {
  it("merges every shard's top-k by score (lower row first on ties) and reports who answered", async () => {
    const report = newReport(3);
    const index = new ShardedIndex(
      manifest,
      stubs([hits([1, 2], [0.9, 0.5]), hits([11, 12], [0.8, 0.5]), hits([21, 22], [0.95, 0.1])]),
      new RowCache(),
      true,
      { report: () => report },
    );
    const got = await index.search(new Float32Array(2), 4);
    expect([...got.rows]).toEqual([21, 1, 11, 2]);
    expect([...report.answered].sort()).toEqual([0, 1, 2]);
    expect(report.failed.size).toBe(0);
  });

  it("leaves out a shard that fails or times out, says which, and fails only when none answers", async () => {
    const report = newReport(3);
    const index = new ShardedIndex(manifest, stubs([hits([1], [0.9]), "fail", "hang"]), new RowCache(), false, {
      timeoutMs: 50,
      report: () => report,
    });
    const got = await index.search(new Float32Array(2), 3);
    expect([...got.rows]).toEqual([1]);
    expect([...report.answered]).toEqual([0]);
    expect(report.failed.get(1)).toMatch(/shard 1 broke/);
    expect(report.failed.get(2)).toMatch(/no answer within 50 ms/);
    const none = new ShardedIndex(manifest, stubs(["fail", "fail", "hang"]), new RowCache(), false, { timeoutMs: 50 });
    const error = await none.search(new Float32Array(2), 3).catch((e) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({ status: 503, code: "shards_unavailable" });
  });

  it("fetches named rows from the shards holding them, once", async () => {
    const asked: number[][] = [];
    const cache = new RowCache();
    const stub = (i: number): ShardStub => ({
      search: () => Promise.reject(new Error("unused")),
      rows: (rows) => {
        asked[i] = rows;
        return Promise.resolve(rowsOf(rows));
      },
    });
    await prefetchRows(manifest, stub, cache, [3, 25, 4, 99]);
    expect(asked).toEqual([[3, 4], undefined, [25]].map((x) => x));
    expect(cache.get(25)?.text).toBe("text 25");
    await prefetchRows(manifest, stub, cache, [3]);
    expect(asked[0]).toEqual([3, 4]);
    expect([shardOf(manifest, 0), shardOf(manifest, 19), shardOf(manifest, 29), shardOf(manifest, 30)]).toEqual([0, 1, 2, -1]);
  });
});
