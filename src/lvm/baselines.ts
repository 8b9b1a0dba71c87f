// The baselines every evaluation reports, served like models: copy-last and mean-of-context.
import { normalizeRows } from "../math/vectors.ts";
import type { LvmModel } from "./registry.ts";

/** copy-last predicts the last context vector; mean-context the normalised mean of the context vectors. */
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
        return normalizeRows(out, dim);
      },
    },
  ];
}

/** Adds the baselines to `registry`; the default stays the first trained model, else copy-last. */
export function addBaselines(registry: { add(m: LvmModel): void; defaultName: string | undefined }, dim: number, encoder: string): void {
  const trainedDefault = registry.defaultName;
  for (const b of baselineModels(dim, encoder)) registry.add(b);
  registry.defaultName = trainedDefault ?? "copy-last";
}
