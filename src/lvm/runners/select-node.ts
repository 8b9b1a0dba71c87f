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
import { detectGpu, type GpuDetection } from "./gpu-detect-node.ts";
import { OrtNodeRunner } from "./ort-node.ts";
import { type GpuSessionFactory, OrtNodeGpuRunner } from "./ort-node-gpu.ts";
import { createOrtWebRunner } from "./ort-web-node.ts";
import { BACKENDS, type BackendName, type CpuBackendName, GPU_BACKENDS, type GpuBackendName, type LvmRunner } from "./types.ts";

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
}

/** A runner and, when the backend asked for could not be used, why (one line for the log and /healthz). */
export interface OpenedRunner {
  runner: LvmRunner;
  warning?: string;
  /** `auto`: what it chose and why. */
  detail?: string;
}

export const ALL_BACKENDS: readonly BackendName[] = [...BACKENDS, ...GPU_BACKENDS];

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
      return createOrtWebRunner(onnx, shape, { variant: options.int8Onnx ? "int8" : undefined });
    }
    case "ort-node": {
      const onnx = options.onnx ?? exportOnnx(model, { int8: options.int8Onnx });
      return OrtNodeRunner.create(onnx, shape, {
        intraOpNumThreads: options.ortNodeThreads ?? 1,
        variant: options.int8Onnx ? "int8" : undefined,
      });
    }
  }
}

/** The ONNX precision a GPU backend runs (undefined: it runs on the core). */
function gpuPrecision(backend: GpuBackendName, options: RunnerOptions): OnnxPrecision | undefined {
  if (options.int8Onnx) return undefined;
  return backend === "ort-node-webgpu-f16" ? "f16" : "f32";
}

/**
 * The one place a served backend is chosen: a runner for `backend`, or the core with a warning when a GPU
 * backend cannot be used (absent, no session, failed probe run, CoreML off macOS, INT8 asked for). A GPU runner
 * is wrapped so that a later failure also moves it to the core (options.onWarning hears of it).
 */
export async function openRunnerForModel(
  model: ReferenceModel,
  backend: BackendName,
  options: RunnerOptions & { onnx?: Uint8Array } = {},
): Promise<OpenedRunner> {
  if (!isGpuBackend(backend)) return { runner: await createCpuRunner(model, backend, options) };
  const fallbackName = options.fallback ?? "core";
  const core = () => createCpuRunner(model, fallbackName, {});
  const shape = { context: model.config.context, dim: model.config.dim };
  let gpu: Exclude<GpuBackendName, "auto"> = backend === "auto" ? "ort-node-webgpu" : backend;
  let detail: string | undefined;
  if (backend === "auto") {
    const found = (options.detect ?? detectGpu)();
    if (!found.real) {
      const runner = await core();
      return { runner, detail: `auto: ${found.reason}: ${runner.id}` };
    }
    detail = `auto: ${found.reason}: ${gpu}`;
    gpu = "ort-node-webgpu";
  }
  const fallBack = async (why: string): Promise<OpenedRunner> => {
    const runner = await core();
    return { runner, warning: `${backend}: ${why}; running on ${runner.id}`, detail };
  };
  if (gpu === "ort-node-coreml" && process.platform !== "darwin") return fallBack("CoreML is macOS only");
  const precision = gpuPrecision(gpu, options);
  if (!precision) return fallBack("the GPU providers have no INT8 (MatMulInteger) kernels");
  try {
    const onnx = options.onnx ?? exportOnnx(model, { f16: precision === "f16", unrolled: gpu === "ort-node-coreml" });
    const runner = await OrtNodeGpuRunner.create(onnx, shape, {
      provider: gpu === "ort-node-coreml" ? "coreml" : "webgpu",
      variant: precision === "f16" ? "f16" : undefined,
      createSession: options.createSession,
    });
    return { runner: new FallbackRunner(runner, shape, core, options.onWarning), detail };
  } catch (error) {
    return fallBack(oneLine(error));
  }
}

/** The ONNX bytes a backend runs from a model directory (its export-onnx file when present), or undefined for the core. */
async function dirOnnx(
  modelDir: string,
  model: ReferenceModel,
  backend: BackendName,
  options: RunnerOptions,
): Promise<Uint8Array | undefined> {
  if (backend === "ort-wasm" || backend === "ort-node") return onnxBytesFor(modelDir, model, options.int8Onnx === true);
  if (backend === "ort-node-webgpu" || backend === "ort-node-webgpu-f16") {
    const precision = gpuPrecision(backend, options);
    return precision ? onnxBytesFor(modelDir, model, precision) : undefined;
  }
  return undefined; // core; CoreML and auto export in memory (CoreML wants the unrolled graph)
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
