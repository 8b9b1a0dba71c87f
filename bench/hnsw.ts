// Approximate index: hnswlib-wasm (the reference: builds the graph, and searches it in its own engine) vs our
// WASM core searching the converted graph, in the same run on the same queries. Two sets: dev1k (41,623 real
// USE-lite vectors) and 325,207 x 512 (the large tier's size) made from dev1k by adding seeded noise (each row
// is a dev1k row + N(0, 0.3^2/512) per value, renormalised; embedding the real large tier takes hours here).
// Queries: 300 dev1k rows with fresh noise of the same size. Truth: exact top-10 (CoreIndex: INT8 short list +
// float32 rescoring, checked against the TypeScript reference by test/core/search-core.test.ts).
// Env: LVM_BENCH_HNSW_LARGE=0 skips the 325k set; LVM_BENCH_HNSW_M / _EFC set the large build's M and
// efConstruction (default 16 / 100); LVM_BENCH_HNSW_REUSE=1 reuses graphs cached in .lvm/bench-hnsw/ (no build).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WasmCore } from "../src/core/wasm-core.ts";
import { CORE_WASM_PATH, loadCore } from "../src/core/wasm-core-node.ts";
import { packCodes4 } from "../src/index/codes4.ts";
import { CoreIndex } from "../src/index/core-index.ts";
import { storeFingerprint } from "../src/index/fingerprint.ts";
import { buildIndex } from "../src/index/hnsw-build.ts";
import { HnswCoreIndex, hnswIndexFromBytes } from "../src/index/hnsw-core.ts";
import { type HnswGraph, serializeGraph } from "../src/index/hnsw-format.ts";
import { fromHnswlib } from "../src/index/hnswlib-bytes.ts";
import { HnswlibIndex } from "../src/index/hnswlib-node.ts";
import { createRng } from "../src/lvm/rng.ts";
import { quantizeRows } from "../src/store/quantize.ts";
import { WIKI } from "./paths.ts";
import { median } from "./timing.ts";

const DIM = 512;
const LARGE = 325_207;
const QUERIES = 300;
const EFS = [32, 64, 128];
const NOISE = 0.3;
const CACHE = fileURLToPath(new URL("../.lvm/bench-hnsw/", import.meta.url));

interface VectorSet {
  name: string;
  count: number;
  dim: number;
  vectors: Float32Array;
  int8: Int8Array;
  scales: Float32Array;
}

function normalize(v: Float32Array, base: number, dim: number): void {
  let s = 0;
  for (let j = 0; j < dim; j++) s += v[base + j] * v[base + j];
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < dim; j++) v[base + j] *= inv;
}

function withNoise(source: Float32Array, dim: number, rows: number, pick: (i: number) => number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(rows * dim);
  const sigma = NOISE / Math.sqrt(dim);
  for (let i = 0; i < rows; i++) {
    const from = pick(i) * dim;
    for (let j = 0; j < dim; j++) out[i * dim + j] = source[from + j] + sigma * rng.normal();
    normalize(out, i * dim, dim);
  }
  return out;
}

function makeSet(name: string, vectors: Float32Array): VectorSet {
  const { codes, scales } = quantizeRows(vectors, DIM);
  return { name, count: vectors.length / DIM, dim: DIM, vectors, int8: codes, scales };
}

/** ms/query (median of 3 passes over all queries) and recall@10 against the truth. */
function measure(queries: Float32Array, truth: Int32Array[], search: (q: Float32Array) => Int32Array) {
  const nq = truth.length;
  let hits = 0;
  const times: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const start = performance.now();
    for (let i = 0; i < nq; i++) {
      const got = search(queries.subarray(i * DIM, (i + 1) * DIM));
      if (pass === 0) {
        const want = new Set(truth[i]);
        for (const r of got.subarray(0, 10)) if (want.has(r)) hits++;
      }
    }
    times.push((performance.now() - start) / nq);
  }
  return { recall: hits / (nq * 10), ms: median(times) };
}

async function graphFor(set: VectorSet, M: number, efConstruction: number) {
  const cached = join(CACHE, `${set.name}-M${M}-efc${efConstruction}`);
  if (process.env.LVM_BENCH_HNSW_REUSE === "1" && existsSync(`${cached}.hnswlib`)) {
    const hnswlibBytes = new Uint8Array(readFileSync(`${cached}.hnswlib`));
    const meta = JSON.parse(readFileSync(`${cached}.json`, "utf8"));
    const graph = fromHnswlib(hnswlibBytes, set.dim);
    graph.storeFingerprint = storeFingerprint(set.count, set.dim, set.scales);
    const { codes, scales } = packCodes4(set.vectors, set.dim);
    graph.codes4 = codes;
    graph.codeScales = scales;
    return {
      graph,
      bytes: serializeGraph(graph),
      hnswlib: await HnswlibIndex.load(hnswlibBytes, set.dim),
      buildSeconds: meta.buildSeconds,
      reused: true,
    };
  }
  let last = 0;
  const built = await buildIndex(set, {
    M,
    efConstruction,
    onProgress(done, total) {
      if (done - last >= total / 10 || done === total) {
        last = done;
        process.stderr.write(`  hnswlib-wasm build ${set.name}: ${done}/${total}\n`);
      }
    },
  });
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(`${cached}.hnswlib`, built.hnswlibBytes);
  writeFileSync(`${cached}.json`, JSON.stringify({ buildSeconds: built.buildSeconds }));
  return { ...built, reused: false };
}

async function benchSet(core: WasmCore, set: VectorSet, source: Float32Array, M: number, efConstruction: number) {
  console.log(`\n### ${set.name}: ${set.count} x ${set.dim}, M ${M}, efConstruction ${efConstruction}`);
  const { graph, bytes, hnswlib, buildSeconds, reused } = await graphFor(set, M, efConstruction);
  console.log(
    `build (hnswlib-wasm): ${buildSeconds.toFixed(1)} s${reused ? " (cached from an earlier run)" : ""}; index.hnsw ${(bytes.length / 2 ** 20).toFixed(1)} MiB`,
  );
  const sourceCount = source.length / DIM;
  const rng = createRng(7);
  const picks = Array.from({ length: QUERIES }, () => rng.int(sourceCount));
  const queries = withNoise(source, DIM, QUERIES, (i) => picks[i], 99);
  const exact = new CoreIndex(core, set);
  const truth: Int32Array[] = [];
  for (let from = 0; from < QUERIES; from += 50) {
    const nq = Math.min(50, QUERIES - from);
    for (const hits of exact.searchBatch(queries.subarray(from * DIM, (from + nq) * DIM), nq, 10)) truth.push(hits.rows);
  }
  exact.dispose();
  const engines: [string, HnswCoreIndex][] = [
    ["core i8 walk + f32 rescore", new HnswCoreIndex(core, graph, set, { walk: "i8" })],
    ["core 4-bit walk + f32 rescore", new HnswCoreIndex(core, graph, set, { walk: "i4" })],
    [
      "core i8 walk, INT8 scores only",
      new HnswCoreIndex(core, graph, { count: set.count, dim: set.dim, int8: set.int8, scales: set.scales }, { walk: "i8" }),
    ],
    ["core 4-bit walk only (128 MB edge)", new HnswCoreIndex(core, graph, { count: set.count, dim: set.dim }, { walk: "i4" })],
  ];
  const rows: Record<string, unknown>[] = [];
  console.log(
    "| ef | hnswlib-wasm recall@10 | hnswlib-wasm ms/q | engine (ours) | recall@10 | ms/q | ours / hnswlib time |\n|---|---|---|---|---|---|---|",
  );
  for (const ef of EFS) {
    hnswlib.setEf(ef);
    const ref = measure(queries, truth, (q) => hnswlib.search(q, 10).rows);
    for (const [name, index] of engines) {
      const ours = measure(queries, truth, (q) => index.searchEf(q, 10, ef).rows);
      console.log(
        `| ${ef} | ${ref.recall.toFixed(4)} | ${ref.ms.toFixed(3)} | ${name} | ${ours.recall.toFixed(4)} | ${ours.ms.toFixed(3)} | ${(ours.ms / ref.ms).toFixed(2)} |`,
      );
      rows.push({
        ef,
        engine: name,
        recall: ours.recall,
        ms: ours.ms,
        hnswlibRecall: ref.recall,
        hnswlibMs: ref.ms,
        ratio: ours.ms / ref.ms,
      });
    }
  }
  const memory = await edgeMemory(graph, bytes, set);
  for (const [, index] of engines) index.dispose();
  return { count: set.count, M, efConstruction, buildSeconds, buildReused: reused, indexBytes: bytes.length, results: rows, memory };
}

/** Core memory of the 128 MB configuration: a fresh core instance holding only the graph and 4-bit codes. */
async function edgeMemory(graph: HnswGraph, bytes: Uint8Array, set: VectorSet) {
  const core = await WasmCore.instantiate(new WebAssembly.Module(readFileSync(CORE_WASM_PATH)));
  const before = core.exports.memory.buffer.byteLength;
  // As a Worker would load it: the file read (streamed) into core memory and searched in place.
  const index = await hnswIndexFromBytes(core, set, bytes, { walk: "i4", rescore: false });
  const after = core.exports.memory.buffer.byteLength;
  const graphBytes = [graph.levels, graph.l0Offsets, graph.l0Links, graph.upperStart, graph.upperOffsets, graph.upperLinks].reduce(
    (n, a) => n + a.byteLength,
    0,
  );
  const codeBytes = (graph.codes4?.byteLength ?? 0) + (graph.codeScales?.byteLength ?? 0);
  const figures = {
    graphBytes,
    codeBytes,
    indexCoreBytes: index.coreBytes,
    wasmMemoryBefore: before,
    wasmMemoryAfter: after,
    fileBytes: bytes.length,
    int8RowsWouldNeed: set.count * set.dim,
  };
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  console.log(
    `memory (4-bit walk, no rescoring vectors): core memory ${mib(after)} MiB in all (was ${mib(before)} MiB empty): ` +
      `graph ${mib(graphBytes)} MiB, 4-bit codes + scales ${mib(codeBytes)} MiB, search scratch ${mib(index.coreBytes - graphBytes - codeBytes)} MiB; ` +
      `the store's INT8 rows alone would be ${mib(figures.int8RowsWouldNeed)} MiB`,
  );
  index.dispose();
  return figures;
}

export async function benchHnsw(): Promise<Record<string, unknown>> {
  const vectors = join(WIKI, "wiki-dev1k.use-lite-512.f32");
  if (!existsSync(vectors)) {
    console.log(`\n## Approximate index (HNSW)\nskipped: no ${vectors} (set LVM_WIKI to the wiki data folder)`);
    return { skipped: `no ${vectors}` };
  }
  const sharedCore = await loadCore();
  const file = readFileSync(vectors);
  const dev1k = new Float32Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
  console.log("\n## Approximate index (HNSW): hnswlib-wasm vs our WASM core on its converted graph, same queries, same run");
  const out: Record<string, unknown> = {};
  out.dev1k = await benchSet(sharedCore, makeSet("dev1k", dev1k), dev1k, 16, 200);
  if (process.env.LVM_BENCH_HNSW_LARGE !== "0") {
    const M = Number(process.env.LVM_BENCH_HNSW_M ?? 16);
    const efc = Number(process.env.LVM_BENCH_HNSW_EFC ?? 100);
    const large = withNoise(dev1k, DIM, LARGE, (i) => i % (dev1k.length / DIM), 1);
    out.large = await benchSet(sharedCore, makeSet("noisy-325k", large), dev1k, M, efc);
  }
  return out;
}

if (import.meta.main) {
  const results = await benchHnsw();
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/hnsw.json", import.meta.url)), `${JSON.stringify(results, null, 2)}\n`);
}
