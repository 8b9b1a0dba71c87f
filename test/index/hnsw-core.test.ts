import { beforeAll, describe, expect, it } from "vitest";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { packCodes4, unpackCodes4 } from "../../src/index/codes4.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { storeFingerprint } from "../../src/index/fingerprint.ts";
import { HnswCoreIndex, hnswIndexFromBytes } from "../../src/index/hnsw-core.ts";
import { type HnswGraph, parseGraph, serializeGraph } from "../../src/index/hnsw-format.ts";
import { createRng } from "../../src/lvm/rng.ts";
import { quantizeRows } from "../../src/store/quantize.ts";
import { cosine } from "../helpers.ts";

// The core's graph walk on a hand-made graph (no hnswlib): an exact 12-NN graph at level 0, one upper level.
const COUNT = 400;
const DIM = 64;
let core: WasmCore;
let vectors: Float32Array;
let store: { count: number; dim: number; vectors: Float32Array; int8: Int8Array; scales: Float32Array };
let graph: HnswGraph;

function unit(rng: ReturnType<typeof createRng>, n: number, dim: number): Float32Array {
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      v[i * dim + j] = rng.normal();
      s += v[i * dim + j] ** 2;
    }
    for (let j = 0; j < dim; j++) v[i * dim + j] /= Math.sqrt(s);
  }
  return v;
}

beforeAll(async () => {
  core = await loadCore();
  const rng = createRng(5);
  vectors = unit(rng, COUNT, DIM);
  const { codes, scales } = quantizeRows(vectors, DIM);
  store = { count: COUNT, dim: DIM, vectors, int8: codes, scales };
  const degree = 12;
  const l0Offsets = new Uint32Array(COUNT + 1);
  const links: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const near = exactSearch(vectors, DIM, vectors.subarray(i * DIM, (i + 1) * DIM), degree, new Set([i])).rows;
    links.push(...near);
    l0Offsets[i + 1] = links.length;
  }
  // Nodes 0..19 reach level 1, linked in a ring; the entry point is node 0.
  const levels = new Uint8Array(COUNT);
  const upperStart = new Uint32Array(COUNT).fill(0xffffffff);
  const upperOffsets = new Uint32Array(21);
  const upperLinks: number[] = [];
  for (let i = 0; i < 20; i++) {
    levels[i] = 1;
    upperStart[i] = i;
    upperLinks.push((i + 1) % 20, (i + 19) % 20);
    upperOffsets[i + 1] = upperLinks.length;
  }
  const c4 = packCodes4(vectors, DIM);
  graph = {
    dim: DIM,
    count: COUNT,
    M: 6,
    maxM0: degree,
    efConstruction: 50,
    maxLevel: 1,
    entryPoint: 0,
    mult: 1 / Math.log(6),
    sizeT: 4,
    maxElements: COUNT,
    levels,
    l0Offsets,
    l0Links: Uint32Array.from(links),
    upperStart,
    upperOffsets,
    upperLinks: Uint32Array.from(upperLinks),
    codes4: c4.codes,
    codeScales: c4.scales,
    storeFingerprint: storeFingerprint(COUNT, DIM, scales),
  };
});

describe("HNSW search on the WASM core", () => {
  it("serialises and parses the graph losslessly", () => {
    const back = parseGraph(serializeGraph(graph), { count: COUNT, dim: DIM, fingerprint: graph.storeFingerprint });
    for (const key of ["levels", "l0Offsets", "l0Links", "upperStart", "upperOffsets", "upperLinks", "codes4", "codeScales"] as const) {
      expect(Array.from(back[key] ?? []), key).toEqual(Array.from(graph[key] ?? []));
    }
    expect({
      ...back,
      levels: 0,
      l0Offsets: 0,
      l0Links: 0,
      upperStart: 0,
      upperOffsets: 0,
      upperLinks: 0,
      codes4: 0,
      codeScales: 0,
    }).toEqual({
      ...graph,
      levels: 0,
      l0Offsets: 0,
      l0Links: 0,
      upperStart: 0,
      upperOffsets: 0,
      upperLinks: 0,
      codes4: 0,
      codeScales: 0,
    });
  });

  it("with ef = count it visits the whole graph and agrees with exact search (both walk codes)", () => {
    for (const walk of ["i8", "i4"] as const) {
      const index = new HnswCoreIndex(core, graph, store, { walk });
      for (let q = 0; q < 40; q++) {
        const query = vectors.subarray(q * DIM, (q + 1) * DIM);
        const want = exactSearch(vectors, DIM, query, 10, new Set([q]));
        const got = index.searchEf(query, 10, COUNT, new Set([q]));
        expect(Array.from(got.rows), `${walk} query ${q}`).toEqual(Array.from(want.rows));
        for (let i = 0; i < 10; i++) expect(got.scores[i]).toBeCloseTo(want.scores[i], 5);
      }
      index.dispose();
    }
  });

  it("walk scores match the INT8 and 4-bit references", () => {
    const query = vectors.subarray(7 * DIM, 8 * DIM);
    let max = 0;
    for (const v of query) max = Math.max(max, Math.abs(v));
    const qi = Int8Array.from(query, (v) => Math.round((v * 127) / max));
    for (const walk of ["i8", "i4"] as const) {
      const index = new HnswCoreIndex(core, graph, { count: COUNT, dim: DIM, int8: store.int8, scales: store.scales }, { walk });
      expect(index.rescore).toBe(false);
      const got = index.searchEf(query, 20, 64);
      for (let i = 0; i < got.rows.length; i++) {
        const row = got.rows[i];
        const codes = walk === "i8" ? store.int8.subarray(row * DIM, (row + 1) * DIM) : unpackCodes4(graph.codes4!, DIM, row);
        const scale = walk === "i8" ? store.scales[row] : graph.codeScales![row];
        let dot = 0;
        for (let j = 0; j < DIM; j++) dot += codes[j] * qi[j];
        expect(got.scores[i]).toBeCloseTo((Math.fround(dot * scale) * max) / 127, 5);
      }
      index.dispose();
    }
  });

  it("4-bit codes keep cosine > 0.97 to the float rows", () => {
    const { codes, scales } = packCodes4(vectors, DIM);
    for (let r = 0; r < 50; r++) {
      const approx = Float32Array.from(unpackCodes4(codes, DIM, r), (v) => v * scales[r]);
      expect(cosine(approx, vectors.subarray(r * DIM, (r + 1) * DIM))).toBeGreaterThan(0.97);
    }
  });

  it("never returns excluded rows and raises ef to fit them", () => {
    const index = new HnswCoreIndex(core, graph, store);
    const query = vectors.subarray(0, DIM);
    const all = index.searchEf(query, 10, 10);
    const exclude = new Set(all.rows);
    const got = index.searchEf(query, 10, 10, exclude);
    expect(got.rows.length).toBe(10);
    for (const r of got.rows) expect(exclude.has(r)).toBe(false);
    expect(Array.from(index.search(query, 5, undefined, { ef: 200 }).rows)).toEqual(Array.from(index.searchEf(query, 5, 200).rows));
    index.dispose();
  });

  it("refuses an index of another store", async () => {
    const other = { ...store, scales: store.scales.map((s) => s * 1.01) };
    await expect(hnswIndexFromBytes(core, other, serializeGraph(graph))).rejects.toThrow(/another store/);
  });

  it("loads a file in place in core memory, from bytes or a stream, and answers like a copied graph", async () => {
    const bytes = serializeGraph(graph);
    const copied = new HnswCoreIndex(core, graph, store, { walk: "i4" });
    const fromBytes = await hnswIndexFromBytes(core, store, bytes, { walk: "i4" });
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 5003), bytes.subarray(5003)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const fromStream = await hnswIndexFromBytes(core, store, stream, { walk: "i4", length: bytes.length });
    // In place: the copy made for the file is the only block besides scratch (no second copy of graph or codes).
    expect(fromBytes.coreBytes).toBeLessThan(bytes.length + 4 * COUNT * 3 + 2048 + 16 * 64);
    for (let q = 0; q < 20; q++) {
      const query = vectors.subarray(q * DIM, (q + 1) * DIM);
      const want = Array.from(copied.searchEf(query, 10, 32).rows);
      expect(Array.from(fromBytes.searchEf(query, 10, 32).rows)).toEqual(want);
      expect(Array.from(fromStream.searchEf(query, 10, 32).rows)).toEqual(want);
    }
    const short = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 100));
        controller.close();
      },
    });
    await expect(hnswIndexFromBytes(core, store, short, { length: bytes.length })).rejects.toThrow(/truncated/);
    for (const index of [copied, fromBytes, fromStream]) index.dispose();
  });
});
