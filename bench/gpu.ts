/**
 * GPU section: samples/s at batch 1, 32 and 256 for every backend the server can run, on one model in one run:
 * core INT8 and f32, onnxruntime-node CPU (f32 and both INT8 graphs, 1 intra-op thread), onnxruntime-node WebGPU
 * (f32 and f16 graphs). Model: the shipped edge GRU (models/gru-edge; presetConfig("gru-edge", 512) with seeded
 * weights where it is missing). Then micro-batching without HTTP: 16 concurrent callers sending one row at a
 * time for a while, straight to the runner and through the server's MicroBatcher (src/lvm/runners/micro-batch.ts,
 * LVM_BENCH_WINDOW ms, default 1), as rows/s, p99 latency and the mean batch formed.
 *
 * WebGPU: on a real GPU (src/lvm/runners/gpu-detect-node.ts) in this process; without one, in a child process on
 * SwiftShader (Chromium's CPU Vulkan driver, /usr/lib/chromium), labelled so: the same code path as Metal or a
 * Vulkan GPU, but an emulation on the CPU whose speed says nothing about a GPU. A backend that falls back (e.g.
 * f16 where the device has no shader-f16) is reported with its warning instead of figures.
 *
 * `npm run bench -- gpu` (bench/run.ts), or `node bench/gpu.ts` alone (writes bench/results/gpu.json).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initTensors, presetConfig } from "../src/lvm/architectures.ts";
import { SHIPPED_MODELS_DIR } from "../src/lvm/load-models-node.ts";
import { readModel } from "../src/lvm/read-model.ts";
import type { ReferenceModel } from "../src/lvm/reference.ts";
import { probeContexts } from "../src/lvm/runners/fastest.ts";
import { detectGpu, swiftShaderEnv } from "../src/lvm/runners/gpu-detect-node.ts";
import { DEFAULT_WINDOW_MS, MicroBatcher } from "../src/lvm/runners/micro-batch.ts";
import { openRunnerForModel, type RunnerOptions } from "../src/lvm/runners/select-node.ts";
import type { BackendName, LvmRunner } from "../src/lvm/runners/types.ts";
import { RESULTS } from "./paths.ts";
import { median, quantile } from "./timing.ts";

const BATCHES = [1, 32, 256];
/** Timed seconds per backend and batch (after one warm-up call), at least MIN_CALLS calls. */
const SCALE = Number(process.env.LVM_BENCH_SCALE ?? 1);
const SECONDS = 1.5 * SCALE;
const MIN_CALLS = 3;
/** SwiftShader takes ~15 s a call at batch 256 on this GRU: one timed call per batch there. */
const EMULATED = { seconds: 0.5 * SCALE, minCalls: 1 };
/** The concurrent-callers part: callers, seconds per mode, the batching window. */
const CALLERS = 16;
const CONCURRENT_SECONDS = 2 * SCALE;
const WINDOW_MS = Number(process.env.LVM_BENCH_WINDOW ?? DEFAULT_WINDOW_MS);

/** 16 callers, one row per call, for `seconds`: straight to the runner (window 0) or through a MicroBatcher. */
interface Concurrent {
  rowsPerSecond: number;
  p50: number;
  p99: number;
  meanBatch: number;
}

interface Row {
  backend: string;
  /** The runner that answered (differs from `backend` after a fallback). */
  id: string;
  device: string;
  warning?: string;
  /** batch -> samples/s (batch / median call time). */
  samplesPerSecond: Record<number, number>;
  msPerCall: Record<number, number>;
  /** window ms (0: direct) -> 16 concurrent one-row callers. */
  concurrent?: Record<number, Concurrent>;
}

async function concurrentCallers(runner: LvmRunner, shape: { context: number; dim: number }, windowMs: number, seconds: number) {
  const batcher = new MicroBatcher((c, b) => runner.forward(c, b), { windowMs, maxBatch: 64, rowValues: shape.context * shape.dim });
  const rows = probeContexts(CALLERS, shape);
  const size = shape.context * shape.dim;
  await Promise.all(Array.from({ length: CALLERS }, (_, i) => batcher.forward(rows.subarray(i * size, (i + 1) * size), 1))); // warm-up
  const before = { ...batcher.stats };
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, i) => {
      const row = rows.subarray(i * size, (i + 1) * size);
      while (performance.now() < end) {
        const t0 = performance.now();
        await batcher.forward(row, 1);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const modelCalls = batcher.stats.modelCalls - before.modelCalls;
  return {
    rowsPerSecond: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    meanBatch: (batcher.stats.calls - before.calls) / Math.max(modelCalls, 1),
  } satisfies Concurrent;
}

const CPU_CASES: [string, BackendName, RunnerOptions][] = [
  ["core int8", "core", {}],
  ["core f32", "core-f32", {}],
  ["ort-node cpu f32", "ort-node", {}],
  ["ort-node cpu int8 (tensor)", "ort-node", { int8Onnx: true }],
  ["ort-node cpu int8 (per-row, served)", "ort-node-int8", {}],
];
const GPU_CASES: [string, BackendName, RunnerOptions][] = [
  ["ort-node webgpu f32", "ort-node-webgpu", {}],
  ["ort-node webgpu f16", "ort-node-webgpu-f16", {}],
];

async function benchModel(): Promise<{ model: ReferenceModel; name: string }> {
  const dir = join(SHIPPED_MODELS_DIR, "gru-edge");
  if (existsSync(join(dir, "model.json"))) return { model: await readModel(dir), name: "models/gru-edge" };
  const config = presetConfig("gru-edge", 512);
  return {
    model: { manifest: null as never, config, tensors: initTensors(config, 1), lastWeight: 0.2 },
    name: "gru-edge preset (dim 512, seeded)",
  };
}

async function runCases(
  cases: [string, BackendName, RunnerOptions][],
  device: string,
  { seconds, minCalls } = { seconds: SECONDS, minCalls: MIN_CALLS },
): Promise<Row[]> {
  const { model } = await benchModel();
  const { context, dim } = model.config;
  const rows: Row[] = [];
  for (const [label, backend, options] of cases) {
    process.stderr.write(`gpu bench: ${label}...\n`);
    const { runner, warning } = await openRunnerForModel(model, backend, { ...options, fallback: "core-f32" });
    const row: Row = { backend: label, id: runner.id, device, warning, samplesPerSecond: {}, msPerCall: {} };
    rows.push(row);
    try {
      if (warning) continue; // a fallback: its figures would be the core's
      for (const batch of BATCHES) {
        const contexts = probeContexts(batch, { context, dim });
        await runner.forward(contexts, batch); // warm-up: shader compilation, buffer allocation
        const times: number[] = [];
        const start = performance.now();
        while (times.length < minCalls || performance.now() - start < seconds * 1000) {
          const t0 = performance.now();
          await runner.forward(contexts, batch);
          times.push(performance.now() - t0);
        }
        const ms = median(times);
        row.msPerCall[batch] = ms;
        row.samplesPerSecond[batch] = (batch * 1000) / ms;
      }
      if (backend === "ort-node" && options.int8Onnx) continue; // not served: rows depend on their batch mates
      const concurrentSeconds = seconds < SECONDS ? seconds * 2 : CONCURRENT_SECONDS;
      row.concurrent = {};
      for (const w of [0, WINDOW_MS]) row.concurrent[w] = await concurrentCallers(runner, { context, dim }, w, concurrentSeconds);
    } finally {
      runner.dispose();
    }
  }
  return rows;
}

/** The WebGPU rows: here on a real GPU, in a SwiftShader child process otherwise, or none (with the reason). */
async function gpuRows(): Promise<{ rows: Row[]; note: string }> {
  const found = detectGpu();
  if (found.real) return { rows: await runCases(GPU_CASES, `GPU (${found.reason})`), note: found.reason };
  const env = swiftShaderEnv();
  if (!env) return { rows: [], note: `no WebGPU rows: no real GPU (${found.reason}) and no SwiftShader (apt-get install chromium)` };
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--webgpu-child"], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  });
  const line = child.stdout.split("\n").find((l) => l.startsWith("GPU-BENCH "));
  if (!line) return { rows: [], note: `the SwiftShader child failed (exit ${child.status})` };
  return {
    rows: JSON.parse(line.slice("GPU-BENCH ".length)) as Row[],
    note: `no real GPU (${found.reason}): WebGPU on SwiftShader, a CPU emulation`,
  };
}

function fmt(x: number | undefined): string {
  if (x === undefined) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export async function benchGpu(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const { model, name } = await benchModel();
  const cpu = await runCases(CPU_CASES, "CPU");
  const gpu = await gpuRows();
  const rows = [...cpu, ...gpu.rows];
  const { config } = model;
  const size = config.arch === "transformer" ? `width ${config.width}` : `hidden ${config.hidden}`;
  console.log(`\n## GPU backends: samples/s (${name}, ${config.arch} ${size}, dim ${config.dim})`);
  console.log(`WebGPU: ${gpu.note}\n`);
  console.log(`| backend | runner | device | ${BATCHES.map((b) => `batch ${b}`).join(" | ")} |`);
  console.log(`|---|---|---|${BATCHES.map(() => "---:").join("|")}|`);
  for (const r of rows) {
    const cells = r.warning
      ? BATCHES.map((_, i) => (i === 0 ? `fell back: ${r.warning}` : ""))
      : BATCHES.map((b) => fmt(r.samplesPerSecond[b]));
    console.log(`| ${r.backend} | ${r.id} | ${r.device} | ${cells.join(" | ")} |`);
  }
  console.log(
    `\n### Micro-batching: ${CALLERS} concurrent callers, one row per call, straight to the runner (0 ms) and through the MicroBatcher (${WINDOW_MS} ms, up to 64 rows)\n`,
  );
  console.log(
    "| backend | runner | device | rows/s direct | rows/s batched | batched / direct | p99 ms direct | p99 ms batched | mean batch |",
  );
  console.log("|---|---|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const direct = r.concurrent?.[0];
    const batched = r.concurrent?.[WINDOW_MS];
    if (!direct || !batched) continue;
    console.log(
      `| ${r.backend} | ${r.id} | ${r.device} | ${fmt(direct.rowsPerSecond)} | ${fmt(batched.rowsPerSecond)} | ${(batched.rowsPerSecond / direct.rowsPerSecond).toFixed(2)}x | ${fmt(direct.p99)} | ${fmt(batched.p99)} | ${batched.meanBatch.toFixed(1)} |`,
    );
  }
  return {
    model: name,
    window: WINDOW_MS,
    note: `samples/s = batch / median call time over >= ${SECONDS}s (>= ${MIN_CALLS} calls; SwiftShader: ${EMULATED.seconds}s, >= 1 call) after one warm-up call; onnxruntime-node with 1 intra-op thread`,
    webgpu: gpu.note,
    rows,
    seconds: (performance.now() - started) / 1000,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--webgpu-child")) {
    const rows = await runCases(GPU_CASES, "SwiftShader (CPU emulation)", EMULATED);
    process.stdout.write(`GPU-BENCH ${JSON.stringify(rows)}\n`);
    process.exit(0); // onnxruntime's WebGPU device keeps native threads alive
  }
  const result = await benchGpu();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "gpu.json"), `${JSON.stringify(result, null, 2)}\n`);
}
