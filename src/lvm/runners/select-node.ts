// Node: an LvmRunner for a model directory and a backend name (the `--backend` switch of serve, eval and the
// bench): the CPU backends (core, core-f32, ort-wasm, ort-node) and the GPU ones (ort-node-webgpu[-f16],
// ort-node-coreml, auto). A GPU that is absent, fails to create a session or fails later falls back to the core
// with one warning (openRunnerForModel), never an error.
//
// What the GPU providers run (measured on onnxruntime-node 1.30's WebGPU provider, SwiftShader Vulkan):
// - the f32 graph, fused GRU/LSTM operators or unrolled, and the Transformer: every node on WebGPU;
// - the f16 graph: on a device with shader-f16 (Metal on Apple silicon, most Vulkan GPUs; checked on an NVIDIA
//   H100 through its Vulkan driver: within 9.1e-4 of the f32 reference at dim 512); SwiftShader has none, so
//   there the probe run fails and the runner falls back;
// - the INT8 graphs (MatMulInteger with DynamicQuantizeLinear, or the per-row Round/Cast form): no WebGPU kernels
//   for MatMulInteger, DynamicQuantizeLinear, Round or the Cast to int8, so onnxruntime runs them on its CPU
//   provider with a copy to and from the GPU at every dense layer; INT8 on a GPU backend therefore runs on the
//   core INT8 instead.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCore } from "../../core/wasm-core-node.ts";
import { exportOnnx } from "../onnx/export.ts";
import { readModel } from "../read-model.ts";
import type { ReferenceModel } from "../reference.ts";
import { CoreRunner } from "./core.ts";
import { FallbackRunner, oneLine } from "./fallback.ts";
import { type Candidate, type ProbeOptions, probeFastest } from "./fastest.ts";
import { detectGpu, type GpuDetection } from "./gpu-detect-node.ts";
import type { GpuSessionFactory } from "./ort-node-gpu.ts";
import { BACKENDS, type BackendName, type CpuBackendName, GPU_BACKENDS, type GpuBackendName, type LvmRunner } from "./types.ts";

/**
 * The onnxruntime-node runners, imported when first used: where the native module cannot be loaded (no
 * prebuilt binary for the platform, a failed install) only the backends that need it fail, and `auto` runs on
 * the core.
 */
export type OrtNodeModules = {
  cpu: typeof import("./ort-node.ts");
  gpu: typeof import("./ort-node-gpu.ts");
};
export const importOrtNode = async (): Promise<OrtNodeModules> => ({
  cpu: await import("./ort-node.ts"),
  gpu: await import("./ort-node-gpu.ts"),
});

export interface RunnerOptions {
  /** ONNX backends: run the INT8 ONNX graph (<dir>/model.int8.onnx when present, else built in memory) instead of float32. */
  int8Onnx?: boolean;
  /** ort-node intra-op threads (default 1; 0 = onnxruntime's default). */
  ortNodeThreads?: number;
  /** GPU backends: the core that answers when the GPU is absent or fails: "core" (INT8, the served default) or "core-f32". */
  fallback?: "core" | "core-f32";
  /** GPU backends: told once when a GPU runner fails at run time and moves to the core. */
  onWarning?: (message: string) => void;
  /** Tests: replaces onnxruntime's InferenceSession.create for the GPU backends. */
  createSession?: GpuSessionFactory;
  /** Tests: replaces the real-GPU detection `auto` uses. */
  detect?: () => GpuDetection;
  /** Tests: replaces the import of onnxruntime-node (e.g. with one that throws, as where it cannot be loaded). */
  loadOrtNode?: () => Promise<OrtNodeModules>;
  /** `auto`: the startup probe (batch: the batch size the choice is made at, 1 without micro-batching). */
  probe?: ProbeOptions;
}

/** A runner and, when the backend asked for could not be used, why (one line for the log and /healthz). */
export interface OpenedRunner {
  runner: LvmRunner;
  warning?: string;
  /** `auto`: what it chose and why (one line); a forced backend: absent. */
  detail?: string;
}

export const ALL_BACKENDS: readonly BackendName[] = [...BACKENDS, "ort-node-int8", ...GPU_BACKENDS];

export function parseBackend(value: string): BackendName {
  if (!(ALL_BACKENDS as readonly string[]).includes(value))
    throw new Error(`unknown backend '${value}' (known: ${ALL_BACKENDS.join(", ")})`);
  return value as BackendName;
}

export function isGpuBackend(backend: BackendName): backend is GpuBackendName {
  return (GPU_BACKENDS as readonly string[]).includes(backend);
}

export type OnnxPrecision = "f32" | "f16" | "int8";

/** Where `lvm export-onnx` output is picked up from in a model directory. */
export function onnxFileName(int8: boolean): string {
  return int8 ? "model.int8.onnx" : "model.onnx";
}

/** The same, by precision: model.onnx, model.f16.onnx, model.int8.onnx. */
export function onnxFileFor(precision: OnnxPrecision): string {
  return precision === "f32" ? "model.onnx" : `model.${precision}.onnx`;
}

/** The ONNX bytes for a model directory: <dir>/model.onnx (model.int8.onnx) when present, else exported in memory. */
export async function onnxBytesFor(modelDir: string, model: ReferenceModel, int8: boolean | OnnxPrecision): Promise<Uint8Array> {
  const precision: OnnxPrecision = int8 === true ? "int8" : int8 === false ? "f32" : int8;
  try {
    return new Uint8Array(await readFile(join(modelDir, onnxFileFor(precision))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return exportOnnx(model, { int8: precision === "int8", f16: precision === "f16" });
}

/** A runner for an already loaded model; `onnx` overrides the bytes the ONNX backends run. A GPU backend's warning goes to the console. */
export async function createRunnerForModel(
  model: ReferenceModel,
  backend: BackendName,
  options: RunnerOptions & { onnx?: Uint8Array } = {},
): Promise<LvmRunner> {
  if (!isGpuBackend(backend)) return createCpuRunner(model, backend, options);
  const { runner, warning } = await openRunnerForModel(model, backend, options);
  if (warning) console.warn(warning);
  return runner;
}

async function createCpuRunner(
  model: ReferenceModel,
  backend: CpuBackendName,
  options: RunnerOptions & { onnx?: Uint8Array },
): Promise<LvmRunner> {
  const shape = { context: model.config.context, dim: model.config.dim };
  switch (backend) {
    case "core":
    case "core-f32":
      return new CoreRunner(await loadCore(), model, backend === "core" ? "int8" : "f32");
    case "ort-wasm": {
      const onnx = options.onnx ?? exportOnnx(model, { int8: options.int8Onnx });
      const { createOrtWebRunner } = await import("./ort-web-node.ts"); // onnxruntime-web: loaded only when asked for
      return createOrtWebRunner(onnx, shape, { variant: options.int8Onnx ? "int8" : undefined });
    }
    case "ort-node": {
      const onnx = options.onnx ?? exportOnnx(model, { int8: options.int8Onnx });
      const { cpu } = await (options.loadOrtNode ?? importOrtNode)();
      return cpu.OrtNodeRunner.create(onnx, shape, {
        intraOpNumThreads: options.ortNodeThreads ?? 1,
        variant: options.int8Onnx ? "int8" : undefined,
      });
    }
    case "ort-node-int8": {
      // Always the per-row form, exported here: a directory's model.int8.onnx is the DynamicQuantizeLinear one.
      const onnx = exportOnnx(model, { int8: true, int8Activations: "row" });
      const { cpu } = await (options.loadOrtNode ?? importOrtNode)();
      return cpu.OrtNodeRunner.create(onnx, shape, { intraOpNumThreads: options.ortNodeThreads ?? 1, variant: "int8-row" });
    }
  }
}

/** The CPU engines `auto` compares at a precision: onnxruntime-node's, then the core (which always opens). */
function cpuCandidates(model: ReferenceModel, precision: "core" | "core-f32", options: RunnerOptions): Candidate[] {
  const ort: CpuBackendName = precision === "core" ? "ort-node-int8" : "ort-node";
  return [
    { name: ort, open: () => createCpuRunner(model, ort, { loadOrtNode: options.loadOrtNode, ortNodeThreads: options.ortNodeThreads }) },
    { name: precision, open: () => createCpuRunner(model, precision, {}) },
  ];
}

/** The ONNX precision a GPU backend runs (undefined: it runs on the core). */
function gpuPrecision(backend: GpuBackendName, options: RunnerOptions): OnnxPrecision | undefined {
  if (options.int8Onnx) return undefined;
  return backend === "ort-node-webgpu-f16" ? "f16" : "f32";
}

/**
 * The one place a served backend is chosen: a runner for `backend`, or the core with a warning when it cannot be
 * used (a GPU absent, no session, a failed probe run, CoreML off macOS, INT8 asked of a GPU; onnxruntime-node not
 * loadable). A GPU runner is wrapped so that a later failure also moves it to the core (options.onWarning hears).
 *
 * `auto` times the engines that open and keeps the fastest (src/lvm/runners/fastest.ts): WebGPU where a real GPU is
 * detected (never an emulation such as SwiftShader), onnxruntime-node's CPU graph (ort-node-int8 at INT8, ort-node
 * at f32) and the core at the fallback precision. `detail` says what it chose and why.
 */
export async function openRunnerForModel(
  model: ReferenceModel,
  backend: BackendName,
  options: RunnerOptions & { onnx?: Uint8Array } = {},
): Promise<OpenedRunner> {
  const fallbackName = options.fallback ?? "core";
  const core = () => createCpuRunner(model, fallbackName, {});
  if (backend === "auto") return openAuto(model, options, fallbackName);
  if (!isGpuBackend(backend)) {
    if (backend !== "ort-node" && backend !== "ort-node-int8") return { runner: await createCpuRunner(model, backend, options) };
    try {
      return { runner: await createCpuRunner(model, backend, options) };
    } catch (error) {
      const runner = await core();
      return { runner, warning: `${backend}: ${oneLine(error)}; running on ${runner.id}` };
    }
  }
  const fallBack = async (why: string): Promise<OpenedRunner> => {
    const runner = await core();
    return { runner, warning: `${backend}: ${why}; running on ${runner.id}` };
  };
  try {
    return { runner: await openGpu(model, backend, options, core) };
  } catch (error) {
    return fallBack(oneLine(error));
  }
}

/** A GPU runner wrapped to fall back on `fallback` at its first failure; throws when it cannot be used at all. */
async function openGpu(
  model: ReferenceModel,
  gpu: Exclude<GpuBackendName, "auto">,
  options: RunnerOptions & { onnx?: Uint8Array },
  fallback: () => Promise<LvmRunner>,
): Promise<LvmRunner> {
  const shape = { context: model.config.context, dim: model.config.dim };
  if (gpu === "ort-node-coreml" && process.platform !== "darwin") throw new Error("CoreML is macOS only");
  const precision = gpuPrecision(gpu, options);
  if (!precision) throw new Error("the GPU providers have no INT8 (MatMulInteger) kernels");
  const onnx = options.onnx ?? exportOnnx(model, { f16: precision === "f16", unrolled: gpu === "ort-node-coreml" });
  const { gpu: modules } = await (options.loadOrtNode ?? importOrtNode)();
  const runner = await modules.OrtNodeGpuRunner.create(onnx, shape, {
    provider: gpu === "ort-node-coreml" ? "coreml" : "webgpu",
    variant: precision === "f16" ? "f16" : undefined,
    createSession: options.createSession,
  });
  return new FallbackRunner(runner, shape, fallback, options.onWarning);
}

async function openAuto(model: ReferenceModel, options: RunnerOptions & { onnx?: Uint8Array }, precision: "core" | "core-f32") {
  const shape = { context: model.config.context, dim: model.config.dim };
  const found = (options.detect ?? detectGpu)();
  const cpu = cpuCandidates(model, precision, options);
  // After a GPU failure: the faster CPU engine of the probe when the GPU won it, else the core.
  let bestCpu: () => Promise<LvmRunner> = cpu[cpu.length - 1].open;
  const candidates: Candidate[] = [...cpu];
  if (found.real) {
    // f32 on the GPU (INT8 has no GPU kernels; f16 needs shader-f16, so it is a choice to force, not to guess).
    const gpuOptions = { ...options, int8Onnx: false, onnx: undefined };
    candidates.unshift({ name: "ort-node-webgpu", open: () => openGpu(model, "ort-node-webgpu", gpuOptions, () => bestCpu()) });
  }
  const probed = await probeFastest(candidates, shape, options.probe);
  const ortId = Object.keys(probed.times).find((id) => id.startsWith("ort-node-int8") || id === "ort-node");
  const ortTimes = ortId ? probed.times[ortId] : undefined;
  const coreTimes = probed.times[precision === "core" ? "core-int8" : "core-f32"];
  const batch = options.probe?.batch ?? 32;
  if (ortTimes && coreTimes && ortTimes[batch] < coreTimes[batch]) bestCpu = cpu[0].open;
  const gpuNote = found.real ? `GPU: ${found.reason}` : `no real GPU (${found.reason})`;
  return { runner: probed.runner, detail: `auto: ${probed.reason}; ${gpuNote}` };
}

/** The ONNX bytes a backend runs from a model directory (its export-onnx file when present), or undefined for the core. */
async function dirOnnx(
  modelDir: string,
  model: ReferenceModel,
  backend: BackendName,
  options: RunnerOptions,
): Promise<Uint8Array | undefined> {
  if (backend === "ort-wasm" || backend === "ort-node") return onnxBytesFor(modelDir, model, options.int8Onnx === true);
  if (backend === "ort-node-int8") return undefined; // the per-row INT8 graph, exported in memory (createCpuRunner)
  if (backend === "ort-node-webgpu" || backend === "ort-node-webgpu-f16") {
    const precision = gpuPrecision(backend, options);
    return precision ? onnxBytesFor(modelDir, model, precision) : undefined;
  }
  return undefined; // core; CoreML and auto export in memory (CoreML wants the unrolled graph, auto's GPU the f32)
}

/** A runner for a model directory (a GPU backend's warning goes to the console). */
export async function createRunner(modelDir: string, backend: BackendName, options: RunnerOptions = {}): Promise<LvmRunner> {
  const model = await readModel(modelDir);
  return createRunnerForModel(model, backend, { ...options, onnx: await dirOnnx(modelDir, model, backend, options) });
}

/** openRunnerForModel for a model directory (`options.model`: the directory's model, already read). */
export async function openRunner(
  modelDir: string,
  backend: BackendName,
  options: RunnerOptions & { model?: ReferenceModel } = {},
): Promise<OpenedRunner> {
  const model = options.model ?? (await readModel(modelDir));
  return openRunnerForModel(model, backend, { ...options, onnx: await dirOnnx(modelDir, model, backend, options) });
}
