// onnxruntime-node (native CPU execution provider) as an LvmRunner. Node only.
import * as ort from "onnxruntime-node";
import { INPUT_NAME, OUTPUT_NAME } from "../onnx/export.ts";
import { checkContexts, type LvmRunner, type RunnerShape } from "./types.ts";

export interface OrtNodeOptions {
  /** Intra-op threads; 0 = onnxruntime's default (one per physical core). */
  intraOpNumThreads?: number;
  /** Suffix for the id, e.g. "int8". */
  variant?: string;
}

export class OrtNodeRunner implements LvmRunner {
  readonly id: string;
  /** The intra-op thread setting the session was created with (0 = onnxruntime's default). */
  readonly intraOpNumThreads: number;
  private readonly session: ort.InferenceSession;
  private readonly shape: RunnerShape;

  private constructor(session: ort.InferenceSession, shape: RunnerShape, id: string, threads: number) {
    this.session = session;
    this.shape = shape;
    this.id = id;
    this.intraOpNumThreads = threads;
  }

  static async create(onnx: Uint8Array, shape: RunnerShape, options: OrtNodeOptions = {}): Promise<OrtNodeRunner> {
    const threads = options.intraOpNumThreads ?? 1;
    const session = await ort.InferenceSession.create(onnx, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
      interOpNumThreads: 1,
      executionMode: "sequential",
    });
    return new OrtNodeRunner(session, shape, options.variant ? `ort-node-${options.variant}` : "ort-node", threads);
  }

  async forward(contexts: Float32Array, batch: number): Promise<Float32Array> {
    checkContexts(contexts, batch, this.shape);
    const input = new ort.Tensor("float32", contexts, [batch, this.shape.context, this.shape.dim]);
    const outputs = await this.session.run({ [INPUT_NAME]: input });
    return outputs[OUTPUT_NAME].data as Float32Array;
  }

  dispose(): void {
    void this.session.release();
  }
}
