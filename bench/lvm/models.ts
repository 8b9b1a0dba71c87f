// LVM inference section: each preset at dim 512 with seeded random weights through our core (INT8, f32),
// onnxruntime-web and onnxruntime-node on the float32 and INT8 ONNX exports, timed round-robin.
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { initTensors, type Preset, presetConfig } from "../../src/lvm/architectures.ts";
import { exportOnnx } from "../../src/lvm/onnx/export.ts";
import { compareRows, randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { CoreRunner } from "../../src/lvm/runners/core.ts";
import { OrtNodeRunner } from "../../src/lvm/runners/ort-node.ts";
import { createOrtWebRunner } from "../../src/lvm/runners/ort-web-node.ts";
import type { LvmRunner } from "../../src/lvm/runners/types.ts";
import { mean, quantile, startTimer } from "../timing.ts";
import { BATCHES, DIM, fmt, MIN_ITERATIONS, SECONDS_B1, SECONDS_B32 } from "./config.ts";

interface Timing {
  runner: string;
  batch: number;
  calls: number;
  samplesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * This thread's CPU time per call, mean over the calls (robust to time-slicing by other processes on the shared
   * cores); null for onnxruntime-node, whose runs happen on a libuv worker thread, not this one.
   */
  threadCpuMeanMs: number | null;
}

/** The same-precision onnxruntime runners a runner is compared with: INT8 with INT8, f32 with f32. */
const isInt8 = (runner: string) => runner.endsWith("int8");
const baselines = (runner: string) =>
  isInt8(runner) ? { web: "ort-wasm-int8", node: "ort-node-int8" } : { web: "ort-wasm", node: "ort-node" };

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
      const stop = startTimer();
      await r.forward(contexts, batch);
      const { wallMs, cpuMs } = stop();
      latencies.get(r.id)!.wall.push(wallMs);
      latencies.get(r.id)!.cpu.push(cpuMs);
    }
  }
  return latencies;
}

export async function benchModel(preset: Preset, core: WasmCore) {
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
        const p50 = quantile(l, 0.5);
        timings.push({
          runner: r.id,
          batch,
          calls: l.length,
          samplesPerSecond: (1000 * batch) / p50,
          p50Ms: p50,
          p99Ms: quantile(l, 0.99),
          threadCpuMeanMs: r.id.startsWith("ort-node") ? null : mean(latencies.get(r.id)!.cpu),
        });
      }
    }
  } finally {
    for (const r of [...runners, defaultThreads]) r.dispose();
  }
  return { preset, config, onnxBytes: { f32: onnxF32.length, int8: onnxI8.length }, timings, agreementWithOrtNodeF32AtBatch32: agreement };
}

type ModelResult = Awaited<ReturnType<typeof benchModel>>;

/**
 * Prints the inference table and returns the targets (core INT8 >= 2x ort-wasm INT8 and >= 0.5x ort-node INT8 at
 * batch 32). Ratios are samples/s (wall clock, p50) against onnxruntime of the same precision: INT8 runners
 * against the INT8 graph, f32 runners against the float32 graph.
 */
export function printModels(models: ModelResult[]): Record<string, unknown> {
  console.log(
    "\n## LVM inference, dim 512, random weights, one process (wall clock; ratios: samples/s vs onnxruntime of the same precision, 1 thread)",
  );
  console.log(
    "| model | runner | batch | samples/s | p50 ms | p99 ms | thread CPU ms (mean) | vs ort-wasm, same precision | vs ort-node, same precision |\n|---|---|---|---|---|---|---|---|---|",
  );
  const targets: Record<string, unknown> = {};
  for (const m of models) {
    for (const batch of BATCHES) {
      const rows = m.timings.filter((t) => t.batch === batch);
      const find = (id: string) => rows.find((t) => t.runner === id)!;
      for (const t of rows) {
        const { web, node } = baselines(t.runner);
        const cpu = t.threadCpuMeanMs === null ? "–" : fmt(t.threadCpuMeanMs);
        console.log(
          `| ${m.preset} | ${t.runner} | ${batch} | ${fmt(t.samplesPerSecond, 1)} | ${fmt(t.p50Ms)} | ${fmt(t.p99Ms)} | ${cpu} | ${(t.samplesPerSecond / find(web).samplesPerSecond).toFixed(2)}x | ${(t.samplesPerSecond / find(node).samplesPerSecond).toFixed(2)}x |`,
        );
      }
      if (batch === 32) {
        const int8 = find("core-int8");
        const [web, node] = [find("ort-wasm-int8"), find("ort-node-int8")];
        targets[m.preset] = {
          coreInt8VsOrtWasmInt8: int8.samplesPerSecond / web.samplesPerSecond,
          coreInt8VsOrtNodeInt8: int8.samplesPerSecond / node.samplesPerSecond,
          met: int8.samplesPerSecond >= 2 * web.samplesPerSecond && int8.samplesPerSecond >= 0.5 * node.samplesPerSecond,
        };
      }
    }
  }
  return targets;
}
