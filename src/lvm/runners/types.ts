/** A runtime-agnostic LVM runner: the service and the benchmarks call every backend through this. */

export type CpuBackendName = "core" | "core-f32" | "ort-wasm" | "ort-node";
/**
 * onnxruntime-node on a GPU: WebGPU (Dawn: Metal on macOS, Vulkan on Linux, D3D12 on Windows) with the f32 or
 * f16 graph, CoreML (macOS only); `auto` picks WebGPU where a real GPU is detected, else the core.
 */
export type GpuBackendName = "ort-node-webgpu" | "ort-node-webgpu-f16" | "ort-node-coreml" | "auto";
export type BackendName = CpuBackendName | GpuBackendName;
/** The CPU backends (every machine runs them). */
export const BACKENDS: readonly CpuBackendName[] = ["core", "core-f32", "ort-wasm", "ort-node"];
export const GPU_BACKENDS: readonly GpuBackendName[] = ["ort-node-webgpu", "ort-node-webgpu-f16", "ort-node-coreml", "auto"];

export interface LvmRunner {
  /** "core-int8" | "core-f32" | "ort-wasm" | "ort-wasm-int8" | "ort-node" | "ort-node-int8" | "ort-node-webgpu" | "ort-node-webgpu-f16" | "ort-node-coreml" */
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
