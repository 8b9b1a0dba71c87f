/**
 * LVM inference and exact search, side by side in one process on the same model weights and inputs:
 *
 * - inference: our core INT8 and f32, onnxruntime-web (wasm, 1 thread) and onnxruntime-node (CPU EP, 1 intra-op
 *   thread; default threads at batch 32 as well) on the float32 ONNX export of the same model, plus the INT8 ONNX
 *   export on both onnxruntime backends. Models: presetConfig(p, 512) with initTensors (seeded random weights:
 *   speed does not depend on the values). Runners are called round-robin (one call each per iteration), so drift
 *   from other processes on the shared cores hits all of them alike; ratios are against onnxruntime-web.
 * - search: exact top-20, our core (INT8 scan + f32 rescoring) vs exactSearch (plain TypeScript) over the dev1k
 *   vectors (41,623 x 512), a 100k x 512 set and a 325k x 512 set made from them (see noisySet).
 *
 * `node bench/lvm.ts` runs it alone and writes bench/results/lvm.json; `npm run bench -- lvm` via bench/run.ts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCore } from "../src/core/wasm-core-node.ts";
import { CoreIndex } from "../src/index/core-index.ts";
import { exactSearch } from "../src/index/exact.ts";
import { initTensors, PRESETS, type Preset, presetConfig } from "../src/lvm/architectures.ts";
import { exportOnnx, INPUT_NAME, OUTPUT_NAME, quantizeColumns } from "../src/lvm/onnx/export.ts";
import { GraphBuilder } from "../src/lvm/onnx/graph.ts";
import { DataType } from "../src/lvm/onnx/proto.ts";
import { compareRows, randomContexts } from "../src/lvm/onnx/validate-node.ts";
import { createRng } from "../src/lvm/rng.ts";
import { CoreRunner } from "../src/lvm/runners/core.ts";
import { OrtNodeRunner } from "../src/lvm/runners/ort-node.ts";
import { createOrtWebRunner } from "../src/lvm/runners/ort-web-node.ts";
import type { LvmRunner } from "../src/lvm/runners/types.ts";
import { readStore } from "../src/store/fs-store.ts";
import { quantizeRows } from "../src/store/quantize.ts";
import { RESULTS } from "./paths.ts";

const DIM = 512;
const BATCHES = [1, 32];
/** Seconds of interleaved timed calls per model at batch 1 and at batch 32 (LVM_BENCH_SCALE scales both). */
const SCALE = Number(process.env.LVM_BENCH_SCALE ?? 1);
const SECONDS_B1 = 4 * SCALE;
const SECONDS_B32 = 9 * SCALE;
const MIN_ITERATIONS = 5;
const ROUNDS = 3;
const STORE = process.env.LVM_BENCH_STORE ?? fileURLToPath(new URL("../.lvm/dev1k", import.meta.url));

interface Timing {
  runner: string;
  batch: number;
  calls: number;
  samplesPerSecond: number;
  p50Ms: number;
  /** Process CPU time (all threads) per call, p50: robust to time-slicing by other processes on the shared cores. */
  cpuP50Ms: number;
  /** batch / cpuP50Ms. */
  samplesPerCpuSecond: number;
  p99Ms: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Round-robin timing: every iteration calls each runner once, so bursts from other processes on the shared cores
 * hit all runners alike; runs for `seconds` and at least MIN_ITERATIONS iterations.
 */
async function timeInterleaved(
  runners: LvmRunner[],
  contexts: Float32Array,
  batch: number,
  seconds: number,
): Promise<Map<string, { wall: number[]; cpu: number[] }>> {
  const latencies = new Map(runners.map((r) => [r.id, { wall: [] as number[], cpu: [] as number[] }]));
  const start = performance.now();
  for (let it = 0; it < MIN_ITERATIONS || performance.now() - start < seconds * 1000; it++) {
    for (const r of runners) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await r.forward(contexts, batch);
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      latencies.get(r.id)!.wall.push(wall);
      latencies.get(r.id)!.cpu.push((c.user + c.system) / 1000);
    }
  }
  return latencies;
}

async function benchModel(preset: Preset, core: Awaited<ReturnType<typeof loadCore>>) {
  const config = presetConfig(preset, DIM);
  const model = { config, tensors: initTensors(config, 1), lastWeight: 0 };
  const shape = { context: config.context, dim: DIM };
  const onnxF32 = exportOnnx(model);
  const onnxI8 = exportOnnx(model, { int8: true });
  const runners: LvmRunner[] = [
    new CoreRunner(core, model, "int8"),
    new CoreRunner(core, model, "f32"),
    await createOrtWebRunner(onnxF32, shape),
    await OrtNodeRunner.create(onnxF32, shape, { intraOpNumThreads: 1 }),
    await createOrtWebRunner(onnxI8, shape, { variant: "int8" }),
    await OrtNodeRunner.create(onnxI8, shape, { intraOpNumThreads: 1, variant: "int8" }),
  ];
  const defaultThreads = await OrtNodeRunner.create(onnxF32, shape, { intraOpNumThreads: 0, variant: "default-threads" });
  const timings: Timing[] = [];
  const agreement: Record<string, { maxAbsDiff: number; minCosine: number }> = {};
  try {
    for (const batch of BATCHES) {
      const contexts = randomContexts(batch, config.context, DIM, 100 + batch);
      const all = batch === 32 ? [...runners, defaultThreads] : runners;
      const expected = await runners[3].forward(contexts, batch);
      for (const r of all) {
        const out = await r.forward(contexts, batch); // warm-up, and agreement with onnxruntime-node f32
        if (batch === 32) agreement[r.id] = compareRows(out, expected, DIM);
        await r.forward(contexts, batch);
      }
      const latencies = await timeInterleaved(all, contexts, batch, batch === 1 ? SECONDS_B1 : SECONDS_B32);
      for (const r of all) {
        const l = latencies.get(r.id)!.wall.sort((a, b) => a - b);
        const cpu = latencies.get(r.id)!.cpu.sort((a, b) => a - b);
        const p50 = quantile(l, 0.5);
        const cpuP50 = quantile(cpu, 0.5);
        timings.push({
          runner: r.id,
          batch,
          calls: l.length,
          samplesPerSecond: (1000 * batch) / p50,
          p50Ms: p50,
          p99Ms: quantile(l, 0.99),
          cpuP50Ms: cpuP50,
          samplesPerCpuSecond: (1000 * batch) / cpuP50,
        });
      }
    }
  } finally {
    for (const r of [...runners, defaultThreads]) r.dispose();
  }
  return { preset, config, onnxBytes: { f32: onnxF32.length, int8: onnxI8.length }, timings, agreementWithOrtNodeF32AtBatch32: agreement };
}

/**
 * `count` x dim unit rows: row i is dev1k row (i mod 41,623); copy 0 is the original, copies >= 1 add
 * N(0, sigma^2) noise per coordinate (sigma 0.01, noise norm ~0.23, cosine to the original ~0.97) and renormalise.
 */
function noisySet(base: Float32Array, dim: number, count: number, sigma: number, seed: number): Float32Array {
  const n = base.length / dim;
  const out = new Float32Array(count * dim);
  const rng = createRng(seed);
  for (let i = 0; i < count; i++) {
    const src = (i % n) * dim;
    const dst = i * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const v = base[src + j] + (i >= n ? sigma * rng.normal() : 0);
      out[dst + j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[dst + j] *= inv;
  }
  return out;
}

async function benchSearch(core: Awaited<ReturnType<typeof loadCore>>) {
  const store = await readStore(STORE);
  const dim = store.dim;
  const k = 20;
  const big = noisySet(store.vectors, dim, 325_000, 0.01, 5);
  const bigQ = quantizeRows(big, dim);
  const sets = [
    { name: "dev1k", count: store.count, vectors: store.vectors, int8: store.int8, scales: store.scales, refQueries: 30 },
    {
      name: "100k",
      count: 100_000,
      vectors: big.subarray(0, 100_000 * dim),
      int8: bigQ.codes.subarray(0, 100_000 * dim),
      scales: bigQ.scales.subarray(0, 100_000),
      refQueries: 12,
    },
    { name: "325k", count: 325_000, vectors: big, int8: bigQ.codes, scales: bigQ.scales, refQueries: 5 },
  ];
  // Queries: 200 store rows (spread over the set) with noise, renormalised: near-duplicates, like real queries.
  const queries = noisySet(store.vectors.subarray(0, 200 * dim), dim, 400, 0.02, 9).subarray(200 * dim);
  const nq = 200;
  const results = [];
  for (const s of sets) {
    const index = new CoreIndex(core, { count: s.count, dim, vectors: s.vectors, int8: s.int8, scales: s.scales });
    try {
      for (let q = 0; q < 5; q++) index.search(queries.subarray(q * dim, (q + 1) * dim), k);
      // Per-query times over ROUNDS passes of all queries; the median is robust to bursts of other processes.
      const coreMs: number[] = [];
      const coreCpuMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (let q = 0; q < nq; q++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          index.search(queries.subarray(q * dim, (q + 1) * dim), k);
          coreMs.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          coreCpuMs.push((c.user + c.system) / 1000);
        }
      }
      const t1 = performance.now();
      index.searchBatch(queries, nq, k);
      const coreBatchMs = (performance.now() - t1) / nq;
      const refMs: number[] = [];
      const refCpuMs: number[] = [];
      let agree = 0;
      for (let q = 0; q < s.refQueries; q++) {
        const query = queries.subarray(q * dim, (q + 1) * dim);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const ref = exactSearch(s.vectors, dim, query, k);
        refMs.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        refCpuMs.push((c.user + c.system) / 1000);
        const ours = index.search(query, k);
        const set = new Set(ref.rows);
        agree += ours.rows.filter((r) => set.has(r)).length / k;
      }
      const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
      results.push({
        set: s.name,
        count: s.count,
        dim,
        k,
        coreMsPerQuery: med(coreMs),
        coreCpuMsPerQuery: med(coreCpuMs),
        coreBatchMsPerQuery: coreBatchMs,
        referenceMsPerQuery: med(refMs),
        referenceCpuMsPerQuery: med(refCpuMs),
        referenceQueries: s.refQueries,
        speedup: med(refMs) / med(coreMs),
        speedupCpu: med(refCpuMs) / med(coreCpuMs),
        top20OverlapWithReference: agree / s.refQueries,
      });
    } finally {
      index.dispose();
    }
  }
  return {
    how325k:
      "row i = dev1k row (i mod 41,623); rows >= 41,623 add N(0, 0.01^2) per coordinate and are renormalised (cosine ~0.97 to the source row); 100k = its first 100,000 rows",
    queries:
      "200 dev1k rows plus N(0, 0.02^2) noise per coordinate, renormalised; core: median per-query time over 3 passes of all 200, reference over a subsample",
    results,
  };
}

/**
 * One dense layer y = x @ W + b as an ONNX model, f32 or INT8 as exportOnnx writes it. Input `contexts` [rows, 1, in]
 * and output `next` [rows, 1, out], so an LvmRunner with context 1 runs it.
 */
function denseOnnx(inDim: number, outDim: number, int8: boolean): Uint8Array {
  const g = new GraphBuilder();
  const rng = createRng(3);
  const w = new Float32Array(inDim * outDim).map(() => rng.normal() * 0.05);
  const b = new Float32Array(outDim);
  let y: string;
  if (int8) {
    const { q, scales } = quantizeColumns(w, inDim, outDim);
    const [xq, sx, zx] = g.opN("DynamicQuantizeLinear", [INPUT_NAME], 3);
    const acc = g.op("Cast", [g.op("MatMulInteger", [xq, g.i8("wq", q, [inDim, outDim]), zx])], { to: DataType.FLOAT });
    y = g.op("Mul", [acc, g.op("Mul", [sx, g.f32("ws", scales)])]);
  } else {
    y = g.op("MatMul", [INPUT_NAME, g.f32("w", w, [inDim, outDim])]);
  }
  g.op("Add", [y, g.f32("b", b)], {}, OUTPUT_NAME);
  return g.encode({
    name: "dense",
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, shape: ["rows", 1, inDim] }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, shape: ["rows", 1, outDim] }],
  });
}

/**
 * The dense-layer kernel on its own, at the shapes of the 512-D GRU (gates concatenated: 512 -> 1536): the core's
 * quantizeRows + linearI8 and linearF32 against onnxruntime's MatMul / DynamicQuantizeMatMul, plus gruGates.
 */
async function benchKernels(core: Awaited<ReturnType<typeof loadCore>>) {
  const e = core.exports;
  const shapes = [
    { name: "GRU input projection, batch 32 (160 rows)", rows: 160, inDim: 512, outDim: 1536 },
    { name: "GRU recurrent projection, batch 32", rows: 32, inDim: 512, outDim: 1536 },
    { name: "GRU recurrent projection, batch 1", rows: 1, inDim: 512, outDim: 1536 },
  ];
  const rng = createRng(4);
  const results = [];
  const med = (f: () => void, reps: number) => {
    const t: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      f();
      t.push(performance.now() - t0);
    }
    return t.sort((a, b) => a - b)[Math.floor(reps / 2)];
  };
  for (const s of shapes) {
    const { rows, inDim, outDim } = s;
    const x = core.buffer(rows * inDim * 4);
    x.f32().set(new Float32Array(rows * inDim).map(() => rng.normal()));
    const xq = core.buffer(rows * inDim);
    const xs = core.buffer(rows * 4);
    const wq = core.buffer(outDim * inDim);
    wq.i8().set(new Int8Array(outDim * inDim).map(() => rng.int(255) - 127));
    const ws = core.buffer(outDim * 4);
    ws.f32().fill(0.01);
    const wf = core.buffer(outDim * inDim * 4);
    wf.f32().set(new Float32Array(outDim * inDim).map(() => rng.normal() * 0.05));
    const bias = core.buffer(outDim * 4);
    const y = core.buffer(rows * outDim * 4);
    const reps = rows === 1 ? 400 : 60;
    const quantize = med(() => e.quantizeRows(x.aligned, rows, inDim, xq.aligned, xs.aligned), reps);
    const i8 = med(() => e.linearI8(xq.aligned, xs.aligned, wq.aligned, ws.aligned, bias.aligned, y.aligned, rows, inDim, outDim), reps);
    const f32 = med(() => e.linearF32(x.aligned, wf.aligned, bias.aligned, y.aligned, rows, inDim, outDim), reps);
    const xIn = new Float32Array(x.f32());
    const ort: Record<string, number> = {};
    for (const [id, make] of [
      ["ort-node f32", (b: Uint8Array) => OrtNodeRunner.create(b, { context: 1, dim: inDim }, { intraOpNumThreads: 1 })],
      ["ort-wasm f32", (b: Uint8Array) => createOrtWebRunner(b, { context: 1, dim: inDim })],
      ["ort-node int8", (b: Uint8Array) => OrtNodeRunner.create(b, { context: 1, dim: inDim }, { intraOpNumThreads: 1 })],
      ["ort-wasm int8", (b: Uint8Array) => createOrtWebRunner(b, { context: 1, dim: inDim })],
    ] as const) {
      const runner = await make(denseOnnx(inDim, outDim, id.endsWith("int8")));
      for (let i = 0; i < 3; i++) await runner.forward(xIn, rows);
      const t: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await runner.forward(xIn, rows);
        t.push(performance.now() - t0);
      }
      ort[id] = t.sort((a, b) => a - b)[Math.floor(reps / 2)];
      runner.dispose();
    }
    const macs = rows * inDim * outDim;
    const gmacs = (ms: number) => macs / ms / 1e6;
    results.push({
      shape: s.name,
      rows,
      inDim,
      outDim,
      ms: { "core quantizeRows": quantize, "core linearI8": i8, "core quantize+linearI8": quantize + i8, "core linearF32": f32, ...ort },
      gmacPerSecond: {
        "core quantize+linearI8": gmacs(quantize + i8),
        "core linearF32": gmacs(f32),
        ...Object.fromEntries(Object.entries(ort).map(([k, v]) => [k, gmacs(v)])),
      },
    });
    for (const b of [x, xq, xs, wq, ws, wf, bias, y]) b.free();
  }
  // GRU gate nonlinearities for batch 32, hidden 512.
  const xp = core.buffer(32 * 1536 * 4);
  const hp = core.buffer(32 * 1536 * 4);
  const h = core.buffer(32 * 512 * 4);
  const gates = med(() => e.gruGates(xp.aligned, hp.aligned, h.aligned, 32, 512), 200);
  for (const b of [xp, hp, h]) b.free();
  return { dense: results, gruGatesBatch32Ms: gates };
}

function fmt(x: number, digits = 2): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits);
}

export async function benchLvm(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const core = await loadCore();
  const models = [];
  const only = process.env.LVM_BENCH_PRESETS?.split(",");
  for (const preset of PRESETS.filter((p) => !only || only.includes(p))) {
    process.stderr.write(`lvm bench: ${preset}...\n`);
    models.push(await benchModel(preset, core));
  }
  console.log("\n## LVM inference, dim 512, random weights, one process (ratios: samples/s vs onnxruntime-web wasm 1 thread)");
  console.log(
    "| model | runner | batch | samples/s | p50 ms | p99 ms | CPU ms p50 | vs ort-wasm | vs ort-node (1 thr) | vs ort-wasm, CPU | vs ort-node, CPU |\n|---|---|---|---|---|---|---|---|---|---|---|",
  );
  const targets: Record<string, unknown> = {};
  for (const m of models) {
    for (const batch of BATCHES) {
      const rows = m.timings.filter((t) => t.batch === batch);
      const web = rows.find((t) => t.runner === "ort-wasm")!;
      const node = rows.find((t) => t.runner === "ort-node")!;
      for (const t of rows) {
        console.log(
          `| ${m.preset} | ${t.runner} | ${batch} | ${fmt(t.samplesPerSecond, 1)} | ${fmt(t.p50Ms)} | ${fmt(t.p99Ms)} | ${fmt(t.cpuP50Ms)} | ${(t.samplesPerSecond / web.samplesPerSecond).toFixed(2)}x | ${(t.samplesPerSecond / node.samplesPerSecond).toFixed(2)}x | ${(t.samplesPerCpuSecond / web.samplesPerCpuSecond).toFixed(2)}x | ${(t.samplesPerCpuSecond / node.samplesPerCpuSecond).toFixed(2)}x |`,
        );
      }
      if (batch === 32) {
        const int8 = rows.find((t) => t.runner === "core-int8")!;
        targets[m.preset] = {
          coreInt8VsOrtWasm: int8.samplesPerSecond / web.samplesPerSecond,
          coreInt8VsOrtNode: int8.samplesPerSecond / node.samplesPerSecond,
          coreInt8VsOrtWasmCpu: int8.samplesPerCpuSecond / web.samplesPerCpuSecond,
          coreInt8VsOrtNodeCpu: int8.samplesPerCpuSecond / node.samplesPerCpuSecond,
          met: int8.samplesPerSecond >= 2 * web.samplesPerSecond && int8.samplesPerSecond >= 0.5 * node.samplesPerSecond,
        };
      }
    }
  }
  process.stderr.write("lvm bench: kernels...\n");
  const kernels = await benchKernels(core);
  console.log("\n## Dense-layer kernel alone, 512 -> 1536 (GRU gates): ms per call (GMAC/s)");
  const kernelIds = Object.keys(kernels.dense[0].ms);
  console.log(`| shape | ${kernelIds.join(" | ")} |\n|---|${kernelIds.map(() => "---").join("|")}|`);
  for (const k of kernels.dense) {
    const cells = kernelIds.map((id) => {
      const ms = (k.ms as Record<string, number>)[id];
      const g = (k.gmacPerSecond as Record<string, number>)[id];
      return g === undefined ? ms.toFixed(3) : `${ms.toFixed(3)} (${g.toFixed(1)})`;
    });
    console.log(`| ${k.shape} | ${cells.join(" | ")} |`);
  }
  console.log(`core gruGates, batch 32 x 512: ${kernels.gruGatesBatch32Ms.toFixed(3)} ms`);
  process.stderr.write("lvm bench: search...\n");
  const search = await benchSearch(core);
  console.log("\n## Exact top-20 search, 512-D (ms per query; reference = exactSearch in plain TypeScript)");
  console.log(
    "| set | rows | core ms/query | core CPU ms/query | core batched ms/query | reference ms/query | reference CPU ms/query | speedup | speedup, CPU | top-20 overlap |\n|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of search.results) {
    console.log(
      `| ${r.set} | ${r.count} | ${r.coreMsPerQuery.toFixed(3)} | ${r.coreCpuMsPerQuery.toFixed(3)} | ${r.coreBatchMsPerQuery.toFixed(3)} | ${fmt(r.referenceMsPerQuery)} | ${fmt(r.referenceCpuMsPerQuery)} | ${r.speedup.toFixed(1)}x | ${r.speedupCpu.toFixed(1)}x | ${r.top20OverlapWithReference.toFixed(3)} |`,
    );
  }
  const at100k = search.results.find((r) => r.set === "100k")!;
  targets.search100kUnder3ms = at100k.coreMsPerQuery <= 3;
  targets.search100kUnder3msCpu = at100k.coreCpuMsPerQuery <= 3;
  console.log(`targets (core INT8 >= 2x ort-wasm and >= 0.5x ort-node at batch 32; search <= 3 ms at 100k): ${JSON.stringify(targets)}`);
  return {
    note: "random seeded weights (initTensors seed 1); ONNX runners run the float32 export unless the id ends in -int8; samples/s from the p50 latency",
    ortNodeThreads: {
      benchmarked: 1,
      defaultRunner: "ort-node-default-threads (intraOpNumThreads unset: onnxruntime's default)",
      cpus: os.availableParallelism(),
    },
    timing: `runners called round-robin, one call each per iteration, for ${SECONDS_B1}s (batch 1) / ${SECONDS_B32}s (batch 32) per model; samples/s = batch / p50`,
    models,
    kernels,
    search,
    targets,
    seconds: (performance.now() - started) / 1000,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchLvm();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, "lvm.json"),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, lvm: result }, null, 2)}\n`,
  );
  console.log(`\nwrote ${join(RESULTS, "lvm.json")} in ${fmt(result.seconds as number, 1)}s`);
}
