import { readFile } from "node:fs/promises";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORE_WASM_PATH, loadCore } from "../../src/core/wasm-core-node.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { buildIndex } from "../../src/index/hnsw-build.ts";
import { HnswCoreIndex } from "../../src/index/hnsw-core.ts";
import { parseGraph } from "../../src/index/hnsw-format.ts";
import { storeFromBytes } from "../../src/store/concept-store.ts";
import { MINI_VECTORS } from "../helpers.ts";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

// The index in workerd: a small Worker (bundled like the real one: core.wasm imported as a module, no Node
// APIs) loads index.hnsw for INT8 rows and searches; its answers must equal the Node core's on the same bytes.
const COUNT = 3000;
const DIM = 512;
let mf: Miniflare;
let int8: Int8Array;
let scales: Float32Array;
let vectors: Float32Array;
let file: Uint8Array;

async function bundle(platform: "neutral" | "browser") {
  const out = await build({
    entryPoints: [new URL("./fixtures/hnsw-worker.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform,
    mainFields: ["module", "main"],
    external: ["./core.wasm"],
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0].text;
}

beforeAll(async () => {
  const raw = await readFile(MINI_VECTORS);
  const f32 = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + COUNT * DIM * 4));
  const { quantizeRows } = await import("../../src/store/quantize.ts");
  const q = quantizeRows(f32, DIM);
  int8 = q.codes;
  scales = q.scales;
  // The edge's store: float rows rebuilt from INT8 (what storeFromBytes gives a Worker).
  const manifest = JSON.stringify({
    format: "lvm-edge-store",
    version: 1,
    encoder: { id: "use-lite", dim: DIM },
    count: COUNT,
    documents: 0,
    textBytes: 0,
    documentBytes: 0,
    updatedAt: "",
  });
  const store = storeFromBytes({
    manifest,
    documents: "",
    texts: new ArrayBuffer(0),
    rows: new ArrayBuffer(COUNT * 16),
    int8: int8.slice().buffer,
    scales: scales.slice().buffer,
  });
  vectors = store.vectors;
  file = (await buildIndex({ count: COUNT, dim: DIM, vectors, scales }, { M: 12, efConstruction: 64 })).bytes;
  mf = new Miniflare({
    modules: [
      { type: "ESModule", path: "worker.js", contents: await bundle("neutral") },
      { type: "CompiledWasm", path: "core.wasm", contents: await readFile(CORE_WASM_PATH) },
    ],
    compatibilityDate: "2025-11-01",
  });
});

afterAll(() => mf?.dispose());

async function load(bytes: Uint8Array, walk: "i8" | "i4" = "i8") {
  const body = new Uint8Array(bytes.length + int8.length + scales.byteLength);
  body.set(bytes, 0);
  body.set(new Uint8Array(int8.buffer, int8.byteOffset, int8.byteLength), bytes.length);
  body.set(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength), bytes.length + int8.length);
  const res = await mf.dispatchFetch("http://localhost/load", {
    method: "POST",
    headers: { "x-sizes": JSON.stringify({ index: bytes.length, count: COUNT, dim: DIM, walk }) },
    body,
  });
  return (await res.json()) as { loaded: boolean; kind?: string; warnings: string[] };
}

describe("the HNSW index in the Worker runtime (workerd)", () => {
  it("answers exactly like the Node core on the same bytes, with recall@10 >= 0.99 at ef 64", async () => {
    const core = await loadCore();
    const queryRows = Array.from({ length: 60 }, (_, i) => i * 47);
    const queries = queryRows.map((r) => Array.from(vectors.subarray(r * DIM, (r + 1) * DIM)));
    for (const walk of ["i8", "i4"] as const) {
      expect(await load(file, walk)).toMatchObject({ loaded: true, kind: "hnsw-core", warnings: [] });
      const res = await mf.dispatchFetch("http://localhost/search", { method: "POST", body: JSON.stringify({ queries, k: 10, ef: 64 }) });
      const rows = (await res.json()) as number[][];
      const node = new HnswCoreIndex(core, parseGraph(file), { count: COUNT, dim: DIM, int8, scales, vectors }, { walk });
      let hits = 0;
      queries.forEach((q, i) => {
        const query = Float32Array.from(q);
        expect(rows[i], `${walk} query ${i}`).toEqual(Array.from(node.searchEf(query, 10, 64).rows));
        const want = new Set(exactSearch(vectors, DIM, query, 10).rows);
        for (const r of rows[i]) if (want.has(r)) hits++;
      });
      expect(hits / (queries.length * 10)).toBeGreaterThanOrEqual(0.99);
      node.dispose();
    }
  });

  it("refuses a corrupt index with a warning instead of answering", async () => {
    const result = await load(file.subarray(0, file.length - 64));
    expect(result.loaded).toBe(false);
    expect(result.warnings.join()).toMatch(/truncated.*falling back|falling back.*truncated/);
    expect((await mf.dispatchFetch("http://localhost/search", { method: "POST", body: "{}" })).status).toBe(409);
  });

  it("bundles for browsers too: nothing Node-only reaches the search path", async () => {
    for (const script of [await bundle("neutral"), await bundle("browser")]) {
      expect(script).not.toMatch(/from\s*["']node:|require\(["']node:/);
      expect(script).not.toMatch(/hnswlib-wasm|fake-indexeddb/);
    }
  });
});
