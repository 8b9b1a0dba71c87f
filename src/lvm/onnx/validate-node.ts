// Node: checks ONNX bytes against the reference forward pass (src/lvm/reference.ts) on onnxruntime-node and
// onnxruntime-web (wasm), on seeded random unit contexts.

import { forward, type ReferenceModel } from "../reference.ts";
import { createRng } from "../rng.ts";
import { OrtNodeRunner } from "../runners/ort-node.ts";
import { createOrtWebRunner } from "../runners/ort-web-node.ts";
import type { LvmRunner } from "../runners/types.ts";

/** Max |a - b| and the smallest per-row cosine between two [rows, dim] arrays. */
export function compareRows(a: Float32Array, b: Float32Array, dim: number): { maxAbsDiff: number; minCosine: number } {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} vs ${b.length}`);
  let maxAbsDiff = 0;
  let minCosine = 1;
  for (let r = 0; r < a.length / dim; r++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[j] - b[j]));
      dot += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
    }
    minCosine = Math.min(minCosine, na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : na === nb ? 1 : 0);
  }
  if (Number.isNaN(maxAbsDiff)) return { maxAbsDiff: Number.POSITIVE_INFINITY, minCosine: -1 };
  return { maxAbsDiff, minCosine };
}

/** batch x context unit vectors of `dim` values, seeded. */
export function randomContexts(batch: number, context: number, dim: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(batch * context * dim);
  for (let v = 0; v < batch * context; v++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const x = rng.normal();
      out[v * dim + j] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[v * dim + j] *= inv;
  }
  return out;
}

export interface BackendCheck {
  backend: string;
  batch: number;
  maxAbsDiff: number;
  minCosine: number;
  ok: boolean;
}

export interface ValidationResult {
  ok: boolean;
  precision: "f32" | "f16" | "int8";
  /** f32 and f16: the max-abs-diff bound; int8: the minimum-cosine bound. */
  tolerance: number;
  checks: BackendCheck[];
}

export const F32_MAX_ABS_DIFF = 1e-4;
export const INT8_MIN_COSINE = 0.995;
/** The f16 graph (float16 weights and arithmetic, float32 blend and normalisation) against the float32 reference. */
export const F16_MAX_ABS_DIFF = 5e-3;

/** Runs `onnx` on both onnxruntime backends at batch 1 and `batch`, against the reference. */
export async function validateOnnx(
  onnx: Uint8Array,
  model: ReferenceModel,
  options: { int8?: boolean; f16?: boolean; batch?: number; seed?: number; minCosine?: number } = {},
): Promise<ValidationResult> {
  const { context, dim } = model.config;
  const int8 = options.int8 === true;
  const f16 = options.f16 === true;
  const tolerance = int8 ? (options.minCosine ?? INT8_MIN_COSINE) : f16 ? F16_MAX_ABS_DIFF : F32_MAX_ABS_DIFF;
  const variant = int8 ? "int8" : f16 ? "f16" : undefined;
  const batches = [1, options.batch ?? 16];
  const runners: LvmRunner[] = [];
  const checks: BackendCheck[] = [];
  try {
    runners.push(await OrtNodeRunner.create(onnx, { context, dim }, { variant }));
    runners.push(await createOrtWebRunner(onnx, { context, dim }, { variant }));
    for (const batch of batches) {
      const contexts = randomContexts(batch, context, dim, (options.seed ?? 7) + batch);
      const expected = forward(model, contexts, batch);
      for (const runner of runners) {
        const got = await runner.forward(contexts, batch);
        const { maxAbsDiff, minCosine } = compareRows(got, expected, dim);
        const ok = int8 ? minCosine >= tolerance : maxAbsDiff <= tolerance;
        checks.push({ backend: runner.id, batch, maxAbsDiff, minCosine, ok });
      }
    }
  } finally {
    for (const r of runners) r.dispose();
  }
  return { ok: checks.every((c) => c.ok), precision: variant ?? "f32", tolerance, checks };
}
