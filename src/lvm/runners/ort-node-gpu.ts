// onnxruntime-node on a GPU execution provider as an LvmRunner: WebGPU (Dawn: Metal, Vulkan, D3D12) or CoreML
// (macOS only). Nodes the provider has no kernel for run on onnxruntime's CPU provider, with copies between them.
// Node only.
import * as ort from "onnxruntime-node";
import { INPUT_NAME, OUTPUT_NAME } from "../onnx/export.ts";
import { checkContexts, type LvmRunner, type RunnerShape } from "./types.ts";

export type GpuProvider = "webgpu" | "coreml";

/** What the runner needs of an onnxruntime session (tests inject failing ones). */
export interface GpuSession {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

export type GpuSessionFactory = (onnx: Uint8Array, options: ort.InferenceSession.SessionOptions) => Promise<GpuSession>;

export const createOrtSession: GpuSessionFactory = (onnx, options) => ort.InferenceSession.create(onnx, options);

/** CoreML's COREML_FLAG_CREATE_MLPROGRAM: the ML Program format, which covers more operators than NeuralNetwork. */
const COREML_FLAG_CREATE_MLPROGRAM = 0x010;

/**
 * The useful part of an onnxruntime error: its messages start with a source location and the failed check
 * ("webgpu_context.cc:136 ...<lambda()> adapter_result.status == ... was false. Failed to get a WebGPU adapter").
 */
export function ortMessage(error: unknown): string {
  let text = (error instanceof Error ? error.message : String(error)).split("\n")[0].trim();
  const tail = /(?:was false\.|Status Message:)\s*(.+)$/.exec(text);
  if (tail) text = tail[1];
  return text.replace(/^\S+\.(?:cc|cpp|h):\d+\s+\S+\s+/, "").replace(/\.$/, "");
}

export interface OrtNodeGpuOptions {
  provider: GpuProvider;
  /** Suffix for the id, e.g. "f16". */
  variant?: string;
  createSession?: GpuSessionFactory;
}

export class OrtNodeGpuRunner implements LvmRunner {
  readonly id: string;
  private readonly session: GpuSession;
  private readonly shape: RunnerShape;

  private constructor(session: GpuSession, shape: RunnerShape, id: string) {
    this.session = session;
    this.shape = shape;
    this.id = id;
  }

  /**
   * A session on the provider, checked by one batch-1 run: some failures only show when a kernel is first
   * compiled (e.g. an f16 graph on a device without shader-f16), and they must surface here, not in a request.
   */
  static async create(onnx: Uint8Array, shape: RunnerShape, options: OrtNodeGpuOptions): Promise<OrtNodeGpuRunner> {
    const provider: ort.InferenceSession.ExecutionProviderConfig =
      options.provider === "coreml" ? { name: "coreml", coreMlFlags: COREML_FLAG_CREATE_MLPROGRAM } : { name: "webgpu" };
    let session: GpuSession;
    try {
      session = await (options.createSession ?? createOrtSession)(onnx, {
        executionProviders: [provider],
        graphOptimizationLevel: "all",
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        logSeverityLevel: 3,
      });
    } catch (error) {
      throw new Error(`no ${options.provider} session: ${ortMessage(error)}`);
    }
    const id = `ort-node-${options.provider}${options.variant ? `-${options.variant}` : ""}`;
    const runner = new OrtNodeGpuRunner(session, shape, id);
    try {
      const probe = new Float32Array(shape.context * shape.dim).fill(1 / Math.sqrt(shape.dim));
      const out = await runner.run(probe, 1);
      if (!out.every(Number.isFinite)) throw new Error(`${id} returned non-finite values on a probe run`);
    } catch (error) {
      runner.dispose();
      throw new Error(`the ${options.provider} session failed its first run: ${ortMessage(error)}`);
    }
    return runner;
  }

  async forward(contexts: Float32Array, batch: number): Promise<Float32Array> {
    checkContexts(contexts, batch, this.shape);
    try {
      return await this.run(contexts, batch);
    } catch (error) {
      throw new Error(`${this.id}: ${ortMessage(error)}`);
    }
  }

  private async run(contexts: Float32Array, batch: number): Promise<Float32Array> {
    const input = new ort.Tensor("float32", contexts, [batch, this.shape.context, this.shape.dim]);
    const outputs = await this.session.run({ [INPUT_NAME]: input });
    return outputs[OUTPUT_NAME].data as Float32Array;
  }

  dispose(): void {
    void this.session.release().catch(() => {});
  }
}
