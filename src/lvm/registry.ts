/**
 * The models an API instance serves, by name: trained LVMs on some backend, plus the two baselines every
 * evaluation reports (copy-last and mean-of-context) so a client can compare against them.
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
  /** Evaluation figures shipped with the model (R@k etc.), when known. */
  metrics?: Record<string, unknown>;
  /** contexts: [batch, context, dim] unit rows, oldest first → unit predictions [batch, dim]. */
  forward(contexts: Float32Array, batch: number): Promise<Float32Array> | Float32Array;
}

export class ModelRegistry {
  private readonly models = new Map<string, LvmModel>();
  defaultName: string | undefined;

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

  clear(): void {
    this.models.clear();
    this.defaultName = undefined;
  }
}

function normalizeRows(x: Float32Array, rows: number, dim: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[r * dim + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) x[r * dim + j] *= inv;
  }
  return x;
}

/** The baselines: copy-last predicts the last context vector; mean-context the normalised mean of all five. */
export function baselineModels(dim: number, encoder: string, context = 5): LvmModel[] {
  const base = { arch: "baseline", backend: "baseline", dim, encoder, context };
  return [
    {
      ...base,
      name: "copy-last",
      description: "baseline: predicts the last context concept (what a model must beat)",
      forward(contexts, batch) {
        const out = new Float32Array(batch * dim);
        for (let b = 0; b < batch; b++)
          out.set(contexts.subarray((b * context + context - 1) * dim, (b * context + context) * dim), b * dim);
        return out;
      },
    },
    {
      ...base,
      name: "mean-context",
      description: "baseline: predicts the normalised mean of the context concepts",
      forward(contexts, batch) {
        const out = new Float32Array(batch * dim);
        for (let b = 0; b < batch; b++) {
          for (let t = 0; t < context; t++) for (let j = 0; j < dim; j++) out[b * dim + j] += contexts[(b * context + t) * dim + j];
        }
        return normalizeRows(out, batch, dim);
      },
    },
  ];
}
