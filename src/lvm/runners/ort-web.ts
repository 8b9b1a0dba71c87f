/**
 * onnxruntime-web (WASM execution provider, one thread) as an LvmRunner. Runtime-agnostic: it takes the ONNX
 * bytes; where the .wasm files live is the runtime adapter's business (ort-web-node.ts in Node; a bundler or
 * `ort.env.wasm.wasmPaths` in browsers and Workers). In browsers the same class can run the WebGPU provider.
 */
import * as ort from "onnxruntime-web";
import { INPUT_NAME, OUTPUT_NAME } from "../onnx/export.ts";
import { checkContexts, type LvmRunner, type RunnerShape } from "./types.ts";

export interface OrtWebOptions {
  /** Execution providers in order of preference. */
  executionProviders?: ("wasm" | "webgpu")[];
  /** WASM threads (1 = single-threaded, the default here). */
  numThreads?: number;
  /** Suffix for the id, e.g. "int8". */
  variant?: string;
}

export { ort as ortWeb };

export class OrtWebRunner implements LvmRunner {
  readonly id: string;
  private readonly session: ort.InferenceSession;
  private readonly shape: RunnerShape;

  private constructor(session: ort.InferenceSession, shape: RunnerShape, id: string) {
    this.session = session;
    this.shape = shape;
    this.id = id;
  }

  static async create(onnx: Uint8Array, shape: RunnerShape, options: OrtWebOptions = {}): Promise<OrtWebRunner> {
    // numThreads is process-wide in onnxruntime-web and read when the WASM module first loads.
    ort.env.wasm.numThreads = options.numThreads ?? 1;
    const providers = options.executionProviders ?? ["wasm"];
    const session = await ort.InferenceSession.create(onnx, { executionProviders: providers, graphOptimizationLevel: "all" });
    const base = providers[0] === "webgpu" ? "ort-webgpu" : "ort-wasm";
    return new OrtWebRunner(session, shape, options.variant ? `${base}-${options.variant}` : base);
  }

  async forward(contexts: Float32Array, batch: number): Promise<Float32Array> {
    checkContexts(contexts, batch, this.shape);
    const input = new ort.Tensor("float32", contexts, [batch, this.shape.context, this.shape.dim]);
    const outputs = await this.session.run({ [INPUT_NAME]: input });
    const out = outputs[OUTPUT_NAME];
    const data = out.data as Float32Array;
    out.dispose();
    return data;
  }

  dispose(): void {
    void this.session.release();
  }
}
