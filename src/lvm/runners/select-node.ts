// Node: an LvmRunner for a model directory and a backend name (the `--backend core|core-f32|ort-wasm|ort-node` switch).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCore } from "../../core/wasm-core-node.ts";
import { exportOnnx } from "../onnx/export.ts";
import { readModel } from "../read-model.ts";
import type { ReferenceModel } from "../reference.ts";
import { CoreRunner } from "./core.ts";
import { OrtNodeRunner } from "./ort-node.ts";
import { createOrtWebRunner } from "./ort-web-node.ts";
import { BACKENDS, type BackendName, type LvmRunner } from "./types.ts";

export interface RunnerOptions {
  /** ONNX backends: run the INT8 ONNX graph (<dir>/model.int8.onnx when present, else built in memory) instead of float32. */
  int8Onnx?: boolean;
  /** ort-node intra-op threads (default 1; 0 = onnxruntime's default). */
  ortNodeThreads?: number;
}

export function parseBackend(value: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(value)) throw new Error(`unknown backend '${value}' (known: ${BACKENDS.join(", ")})`);
  return value as BackendName;
}

/** Where `lvm export-onnx` output is picked up from in a model directory. */
export function onnxFileName(int8: boolean): string {
  return int8 ? "model.int8.onnx" : "model.onnx";
}

/** The ONNX bytes for a model directory: <dir>/model.onnx (model.int8.onnx) when present, else exported in memory. */
export async function onnxBytesFor(modelDir: string, model: ReferenceModel, int8: boolean): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(join(modelDir, onnxFileName(int8))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return exportOnnx(model, { int8 });
}

/** A runner for an already loaded model; `onnx` overrides the bytes the ONNX backends run. */
export async function createRunnerForModel(
  model: ReferenceModel,
  backend: BackendName,
  options: RunnerOptions & { onnx?: Uint8Array } = {},
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

/** A runner for a model directory. */
export async function createRunner(modelDir: string, backend: BackendName, options: RunnerOptions = {}): Promise<LvmRunner> {
  const model = await readModel(modelDir);
  const onnx =
    backend === "ort-wasm" || backend === "ort-node" ? await onnxBytesFor(modelDir, model, options.int8Onnx === true) : undefined;
  return createRunnerForModel(model, backend, { ...options, onnx });
}
