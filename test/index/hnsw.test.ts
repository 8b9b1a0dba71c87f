import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { main } from "../../src/cli/main.ts";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { exactSearch } from "../../src/index/exact.ts";
import {
  type BuiltIndex,
  buildStoreIndex,
  indexPath,
  loadIntoHnswlib,
  loadStoreIndex,
  readStoreGraph,
} from "../../src/index/hnsw-build.ts";
import { HnswCoreIndex } from "../../src/index/hnsw-core.ts";
import { HEADER_BYTES, IndexFormatError, parseGraph, serializeGraph } from "../../src/index/hnsw-format.ts";
import { fromHnswlib, toHnswlib } from "../../src/index/hnswlib-bytes.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore, StoreWriter } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// The mini tier (6,399 real USE-lite vectors): built once with hnswlib-wasm, then converted, searched by both engines.
let dir: string;
let cleanup: () => Promise<void>;
let store: ConceptStore;
let built: BuiltIndex & { path: string };
let core: WasmCore;
const QUERIES = 200;
let queries: number[];
let truth: Int32Array[];

beforeAll(async () => {
  const tmp = await tempDir();
  cleanup = tmp[Symbol.asyncDispose];
  dir = await buildMiniStore(join(tmp.path, "mini"));
  store = await readStore(dir);
  built = await buildStoreIndex(dir, { M: 16, efConstruction: 64 });
  core = await loadCore();
  // Queries: stored concepts, each excluded from its own answers (what /v1/search does with a context).
  queries = Array.from({ length: QUERIES }, (_, i) => Math.floor((i * store.count) / QUERIES));
  truth = queries.map((r) => exactSearch(store.vectors, store.dim, store.vector(r), 10, new Set([r])).rows);
});

afterAll(() => cleanup?.());

function recall(search: (query: Float32Array, row: number) => Int32Array): number {
  let hits = 0;
  queries.forEach((row, i) => {
    const want = new Set(truth[i]);
    for (const r of search(store.vector(row), row).subarray(0, 10)) if (want.has(r)) hits++;
  });
  return hits / (QUERIES * 10);
}

describe("lvm index build (hnswlib-wasm)", () => {
  it("writes index.hnsw next to the store, leaking no browser shim", async () => {
    expect(built.path).toBe(indexPath(dir));
    expect(built.graph.count).toBe(store.count);
    expect(built.graph.sizeT).toBe(4); // wasm32 hnswlib
    expect((await readFile(built.path)).length).toBe(built.bytes.length);
    expect("window" in globalThis).toBe(false);
    expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe("undefined");
  });

  it("converts hnswlib's bytes losslessly: our graph → hnswlib bytes → the same graph", () => {
    const g = built.graph;
    const again = fromHnswlib(toHnswlib(g, store.vectors), store.dim);
    for (const key of ["levels", "l0Offsets", "l0Links", "upperStart", "upperOffsets", "upperLinks"] as const) {
      expect(
        Buffer.compare(
          Buffer.from(again[key].buffer, again[key].byteOffset, again[key].byteLength),
          Buffer.from(g[key].buffer, g[key].byteOffset, g[key].byteLength),
        ),
        key,
      ).toBe(0);
    }
    expect([again.entryPoint, again.maxLevel, again.M, again.maxM0, again.efConstruction, again.mult]).toEqual([
      g.entryPoint,
      g.maxLevel,
      g.M,
      g.maxM0,
      g.efConstruction,
      g.mult,
    ]);
    // Same header as hnswlib wrote (the link blocks differ only in unused slots, which hnswlib leaves stale).
    const theirs = built.hnswlibBytes;
    expect(Buffer.compare(Buffer.from(toHnswlib(g, store.vectors).subarray(0, 56)), Buffer.from(theirs.subarray(0, 56)))).toBe(0);
    expect(toHnswlib(g, store.vectors).length).toBe(theirs.length);
  });
});

describe("searching the index", () => {
  it("the WASM core reaches recall@10 >= 0.99 at ef 64 on the mini tier (INT8 and 4-bit walks)", () => {
    for (const walk of ["i8", "i4"] as const) {
      const index = new HnswCoreIndex(core, built.graph, store, { walk });
      const r = recall((q, row) => index.searchEf(q, 10, 64, new Set([row])).rows);
      expect(r, walk).toBeGreaterThanOrEqual(0.99);
      index.dispose();
    }
  });

  it("recall grows with ef (per query)", () => {
    const index = new HnswCoreIndex(core, built.graph, store);
    const low = recall((q, row) => index.searchEf(q, 10, 10, new Set([row])).rows);
    const high = recall((q, row) => index.search(q, 10, new Set([row]), { ef: 128 }).rows);
    expect(high).toBeGreaterThanOrEqual(low);
    expect(high).toBeGreaterThanOrEqual(0.99);
    index.dispose();
  });

  it("hnswlib-wasm loads the index back (from our file + the store) and answers like the index it built", async () => {
    const loaded = await loadIntoHnswlib(dir, store);
    expect(loaded.count).toBe(store.count);
    for (const ef of [16, 64]) {
      built.hnswlib.setEf(ef);
      loaded.setEf(ef);
      for (const row of queries.slice(0, 50)) {
        expect(Array.from(loaded.search(store.vector(row), 10).rows)).toEqual(Array.from(built.hnswlib.search(store.vector(row), 10).rows));
      }
    }
    loaded.setEf(64);
    expect(recall((q, row) => loaded.search(q, 11).rows.filter((r) => r !== row))).toBeGreaterThanOrEqual(0.99);
  });

  it("loadStoreIndex returns the core index for a valid file and nothing for a store without one", async () => {
    const index = await loadStoreIndex(core, store, dir);
    expect(index?.kind).toBe("hnsw-core");
    index?.dispose();
    await using empty = await tempDir();
    expect(await loadStoreIndex(core, store, empty.path)).toBeUndefined();
  });
});

describe("corrupt or mismatched index files", () => {
  async function loadWith(bytes: Uint8Array, storeOverride?: ConceptStore) {
    await using tmp = await tempDir();
    await writeFile(indexPath(tmp.path), bytes);
    const warnings: string[] = [];
    const index = await loadStoreIndex(core, storeOverride ?? store, tmp.path, { warn: (m) => warnings.push(m) });
    return { index, warnings };
  }

  it("a truncated file", async () => {
    const { index, warnings } = await loadWith(built.bytes.subarray(0, built.bytes.length - 1000));
    expect(index).toBeUndefined();
    expect(warnings.join()).toMatch(/truncated.*falling back to exact|falling back to exact.*truncated/);
    expect((await loadWith(built.bytes.subarray(0, 40))).warnings.join()).toMatch(/truncated/);
  });

  it("a flipped byte (checksum) and a bad magic", async () => {
    const flipped = new Uint8Array(built.bytes);
    flipped[HEADER_BYTES + 5000] ^= 0x40;
    expect((await loadWith(flipped)).warnings.join()).toMatch(/checksum/);
    const magic = new Uint8Array(built.bytes);
    magic[0] = 0;
    expect((await loadWith(magic)).warnings.join()).toMatch(/not an lvm-edge HNSW index/);
  });

  it("wrong dim and another store", async () => {
    const wrongDim = new Uint8Array(built.bytes);
    new DataView(wrongDim.buffer).setUint32(16, 256, true);
    expect((await loadWith(wrongDim)).warnings.join()).toMatch(/dim 256.*dim 512/);
    const otherScales = store.scales.map((s) => s * 1.001);
    const other = Object.assign(Object.create(Object.getPrototypeOf(store)), store, { scales: otherScales }) as ConceptStore;
    const { index, warnings } = await loadWith(built.bytes, other);
    expect(index).toBeUndefined();
    expect(warnings.join()).toMatch(/another store/);
  });

  it("a valid checksum over bad links is still refused (no out-of-range walk)", () => {
    const g = parseGraph(built.bytes);
    const links = new Uint32Array(g.l0Links);
    links[3] = store.count + 7;
    expect(() => parseGraph(serializeGraph({ ...g, l0Links: links }))).toThrow(IndexFormatError);
    expect(() => parseGraph(serializeGraph({ ...g, l0Links: links }))).toThrow(/outside/);
  });

  it("a stale index after the store grew", async () => {
    await using tmp = await tempDir();
    for (const f of ["store.json", "documents.jsonl", "texts.utf8", "rows.u32", "vectors.f32", "vectors.i8", "scales.f32"]) {
      await copyFile(join(dir, f), join(tmp.path, f));
    }
    await writeFile(indexPath(tmp.path), built.bytes);
    const manifest = JSON.parse(await readFile(join(tmp.path, "store.json"), "utf8"));
    const first = manifest.count - 100;
    // A store of fewer rows (as if the index were built before ingesting the last ones): a mismatch.
    const smaller = { ...store, count: first, dim: store.dim, scales: store.scales.subarray(0, first) } as unknown as ConceptStore;
    const warnings: string[] = [];
    expect(await loadStoreIndex(core, smaller, tmp.path, { warn: (m) => warnings.push(m) })).toBeUndefined();
    expect(warnings.join()).toMatch(/built for 6399 rows, the store has 6299/);
    await expect(readStoreGraph(tmp.path, smaller)).rejects.toThrow(IndexFormatError);
  });
});

describe("the HTTP app with the store's index", () => {
  it("answers /v1/search from the HNSW index, and from exact search when asked", async () => {
    const approximateIndex = await loadStoreIndex(core, store, dir);
    const exactIndex = Object.assign(new CoreIndex(core, store), { kind: "exact-core" });
    const app = createApp({ store, exactIndex, approximateIndex, models: new ModelRegistry(), runtime: "node" });
    let agree = 0;
    for (const row of queries.slice(0, 30)) {
      const vector = Array.from(store.vector(row));
      const post = async (exact: boolean) =>
        (await (
          await app.request("/v1/search", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ vector, k: 10, exact }),
          })
        ).json()) as { index: string; results: { row: number }[] };
      const approx = await post(false);
      const exact = await post(true);
      expect(approx.index).toBe("hnsw-core");
      expect(exact.index).toBe("exact-core");
      const want = new Set(exact.results.map((r) => r.row));
      agree += approx.results.filter((r) => want.has(r.row)).length;
    }
    expect(agree / 300).toBeGreaterThanOrEqual(0.99);
    approximateIndex?.dispose();
    exactIndex.dispose();
  });
});

describe("lvm index (CLI)", () => {
  it("build and check (a 600-concept store)", async () => {
    await using tmp = await tempDir();
    const writer = await StoreWriter.open(tmp.path, store.encoder);
    const n = 600;
    await writer.append(
      [{ id: "d", title: "D", texts: Array.from({ length: n }, (_, i) => store.text(i)) }],
      store.vectors.slice(0, n * store.dim),
    );
    await writer.close();
    const logs: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => logs.push(a.join(" "));
    try {
      expect(await main(["index", "build", "--store", tmp.path, "--M", "8", "--ef-construction", "40"])).toBe(0);
      expect(await main(["index", "check", "--store", tmp.path])).toBe(0);
    } finally {
      console.log = log;
    }
    expect(logs.join("\n")).toMatch(/built .*index\.hnsw: 600 concepts, M 8, efConstruction 40/);
    expect(logs.join("\n")).toMatch(/valid for this store .* core (0\.9\d+|1\.0000), hnswlib-wasm (0\.9\d+|1\.0000)/);
    const errors: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    try {
      expect(await main(["index", "frobnicate", "--store", tmp.path])).toBe(2);
      await using bare = await tempDir();
      await copyFile(join(tmp.path, "store.json"), join(bare.path, "store.json"));
      for (const f of ["documents.jsonl", "texts.utf8", "rows.u32", "vectors.f32", "vectors.i8", "scales.f32"])
        await copyFile(join(tmp.path, f), join(bare.path, f));
      expect(await main(["index", "check", "--store", bare.path])).toBe(1);
      // A corrupt file is one clear line from 'check'.
      const bytes = await readFile(indexPath(tmp.path));
      await writeFile(indexPath(tmp.path), bytes.subarray(0, 500));
      expect(await main(["index", "check", "--store", tmp.path])).toBe(1);
    } finally {
      console.error = error;
    }
    expect(errors.join("\n")).toMatch(/lvm index: .*index\.hnsw is missing: build it with 'lvm index build/);
    expect(errors.join("\n")).toMatch(/lvm index: index\.hnsw: truncated/);
  });
});
