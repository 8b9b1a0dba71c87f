/** A runtime-agnostic LVM runner: the service and the benchmarks call every backend through this. */

/**
 * ort-node-int8: onnxruntime-node's CPU provider on the INT8 graph with per-row activations (export.ts "row": each
 * row independent of its batch mates, as micro-batching needs; MLAS's UINT8 x INT8 kernels); runner id
 * "ort-node-int8-row". `ort-node` with int8Onnx runs the DynamicQuantizeLinear form (id "ort-node-int8").
 */
export type CpuBackendName = "core" | "core-f32" | "ort-wasm" | "ort-node" | "ort-node-int8";
/**
 * onnxruntime-node on a GPU: WebGPU (Dawn: Metal on macOS, Vulkan on Linux, D3D12 on Windows) with the f32 or
 * f16 graph, CoreML (macOS only). `auto` times the engines that load at startup (WebGPU where a real GPU is
 * detected, ort-node-int8 or ort-node f32, the core) and keeps the fastest.
 */
export type GpuBackendName = "ort-node-webgpu" | "ort-node-webgpu-f16" | "ort-node-coreml" | "auto";
export type BackendName = CpuBackendName | GpuBackendName;
/** The CPU backends every machine runs, each in f32 and INT8 (ort-node-int8 is listed in ALL_BACKENDS). */
export const BACKENDS: readonly CpuBackendName[] = ["core", "core-f32", "ort-wasm", "ort-node"];
export const GPU_BACKENDS: readonly GpuBackendName[] = ["ort-node-webgpu", "ort-node-webgpu-f16", "ort-node-coreml", "auto"];

export interface LvmRunner {
  /** "core-int8" | "core-f32" | "ort-wasm" | "ort-wasm-int8" | "ort-node" | "ort-node-int8" | "ort-node-int8-row" | "ort-node-webgpu" | "ort-node-webgpu-f16" | "ort-node-coreml" */
  readonly id: string;
  /** contexts: [batch, context, dim] float32, oldest first -> unit next-concept vectors [batch, dim]. */
  forward(contexts: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): void;
}

/** The input shape a runner expects, for checks and messages. */
export interface RunnerShape {
  context: number;
  dim: number;
}

export function checkContexts(contexts: Float32Array, batch: number, shape: RunnerShape): void {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, got ${batch}`);
  const expected = batch * shape.context * shape.dim;
  if (contexts.length !== expected) {
    throw new Error(`contexts hold ${contexts.length} values, expected ${batch} x ${shape.context} x ${shape.dim}`);
  }
}
