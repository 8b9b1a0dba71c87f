import type { HubnessSettings } from "./model-format.ts";

/**
 * The one model abstraction: a model is its metadata plus a runner (forward on some backend). The API,
 * the Worker, the Node entry and the page serve models from a registry; the baselines every evaluation
 * reports (src/lvm/baselines.ts) are models too, so a client can compare against them.
 */
export interface LvmModel {
  name: string;
  /** "gru", "lstm", "transformer" or "baseline". */
  arch: string;
  /** "core-int8", "core-f32", "ort-wasm", ... or "baseline". */
  backend: string;
  dim: number;
  encoder: string;
  context: number;
  parameters?: number;
  description: string;
  /**
   * How its predictions are searched: ranked by cosine - weight * hub(c) (src/index/hubness.ts), chosen on
   * validation with the blend (model.json retrieval.hubness). Absent: plain cosine.
   */
  hubness?: HubnessSettings;
  /** Evaluation figures shipped with the model (R@k etc.), when known. */
  metrics?: Record<string, unknown>;
  /** The model directory it was read from, where there is one (Node). */
  dir?: string;
  /** contexts: [batch, context, dim] unit rows, oldest first → unit predictions [batch, dim]. */
  forward(contexts: Float32Array, batch: number): Promise<Float32Array> | Float32Array;
  /** Releases what the runner holds (core memory, sessions). */
  dispose?(): void;
}

/** What a client sees of a model (GET /v1/models): everything but the runner. */
export type ModelInfo = Omit<LvmModel, "forward" | "dispose" | "dir">;

export function modelInfo({ forward: _f, dispose: _d, dir: _dir, ...info }: LvmModel): ModelInfo {
  return info;
}

/** How the served models run, for /healthz and the startup line (set by the Node loader; absent elsewhere). */
export interface EngineStatus {
  /** The backend asked for: "auto" (the default) or a forced one. */
  requested: string;
  /** Per served model (not the baselines): why its engine was chosen. */
  reasons: Record<string, string>;
  /** Forward calls that arrive within windowMs share one model call of at most maxBatch rows; null: off. */
  microBatching: { windowMs: number; maxBatch: number; stats(): { calls: number; modelCalls: number; largestBatch: number } } | null;
  /** Fallbacks so far (a GPU that failed, an engine that could not load), one line each. */
  warnings: string[];
}

export class ModelRegistry {
  private readonly models = new Map<string, LvmModel>();
  defaultName: string | undefined;
  engine: EngineStatus | undefined;

  add(model: LvmModel, { isDefault = false } = {}): void {
    this.models.set(model.name, model);
    if (isDefault || this.defaultName === undefined) this.defaultName = model.name;
  }

  get(name: string): LvmModel | undefined {
    return this.models.get(name);
  }

  list(): LvmModel[] {
    return [...this.models.values()];
  }

  /** Disposes every model and empties the registry. */
  clear(): void {
    for (const m of this.models.values()) m.dispose?.();
    this.models.clear();
    this.defaultName = undefined;
  }
}
