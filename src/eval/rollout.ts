// Autoregressive rollout, two ways: the raw predicted vector fed back as the newest context concept
// (rawRollout), and the chain /v1/generate serves (servedRollout: src/predict/generate.ts's rule, batched:
// the nearest stored concept that is neither a context row nor already in the chain is fed back).
import * as tf from "@tensorflow/tfjs";
import type { ReferenceModel } from "../lvm/reference.ts";
import { gatherContexts } from "../lvm/windows.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { copyLastPredictions } from "./metrics.ts";
import { type RetrievalIndex, readAndDispose } from "./retrieval.ts";

/** contexts [batch, context, dim] -> predictions [batch, dim] with the given blend weight. */
export type Predict = (contexts: Float32Array, batch: number, lastWeight: number) => Float32Array | Promise<Float32Array>;

export interface RolloutStep {
  step: number;
  /** Mean cosine between this generated vector and the previous one (step 1: the last real context concept). */
  consecutiveCosine: number;
  /** Mean cosine to the true concept that many steps ahead, over windows whose document has it. */
  cosineToTruth: number | null;
}

export interface RawRollout {
  windows: number;
  steps: RolloutStep[];
  degeneratedAtStep: number | null;
}

/** The threshold of degeneration: consecutive generated vectors this close (as /v1/generate's default stopCosine). */
export const DEGENERATE_COSINE = 0.9;

function documentEnds(store: ConceptStore, targets: Int32Array): Int32Array {
  return Int32Array.from(targets, (t) => {
    const d = store.documents[store.documentIndex(t)];
    return d.first + d.count;
  });
}

function dotAt(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[ao + d] * b[bo + d];
  return s;
}

/** Drops window i's oldest concept and appends `vector` (the window slides by one). */
function slide(contexts: Float32Array, i: number, context: number, dim: number, vector: Float32Array): void {
  const base = i * context * dim;
  contexts.copyWithin(base, base + dim, base + context * dim);
  contexts.set(vector, base + (context - 1) * dim);
}

/** The raw vector fed back; stops when the mean consecutive cosine exceeds DEGENERATE_COSINE (from step 2). */
export async function rawRollout(
  predict: Predict,
  model: ReferenceModel,
  store: ConceptStore,
  targets: Int32Array,
  steps: number,
): Promise<RawRollout> {
  const { context, dim } = model.config;
  const n = targets.length;
  const contexts = gatherContexts(store, targets, context);
  let previous = copyLastPredictions(store, targets);
  const docEnd = documentEnds(store, targets);
  const result: RolloutStep[] = [];
  let degeneratedAtStep: number | null = null;
  for (let s = 1; s <= steps; s++) {
    const generated = await predict(contexts, n, model.lastWeight);
    let consecutive = 0;
    let truth = 0;
    let truthCount = 0;
    for (let i = 0; i < n; i++) {
      consecutive += dotAt(generated, i * dim, previous, i * dim, dim);
      const row = targets[i] + s - 1;
      if (row < docEnd[i]) {
        truth += dotAt(generated, i * dim, store.vectors, row * dim, dim);
        truthCount++;
      }
      slide(contexts, i, context, dim, generated.subarray(i * dim, (i + 1) * dim));
    }
    result.push({ step: s, consecutiveCosine: consecutive / n, cosineToTruth: truthCount ? truth / truthCount : null });
    previous = generated;
    // Degeneration is judged between generated vectors (from step 2); step 1 compares with the last real concept.
    if (s >= 2 && consecutive / n > DEGENERATE_COSINE) {
      degeneratedAtStep = s;
      break;
    }
  }
  return { windows: n, steps: result, degeneratedAtStep };
}

export interface ServedRolloutStep {
  step: number;
  /** Chains still running at this step (not yet stopped as degenerate). */
  chains: number;
  /** Mean cos(prediction, previous prediction) over the chains that reached this step; null at step 1. */
  consecutiveCosine: number | null;
  /** Mean cosine of the picked concept to the true concept that many steps ahead, where the article has one. */
  cosineToTruth: number | null;
  /** Percent of picks that are exactly the true concept that many steps ahead (over chains whose article has one). */
  exact: number | null;
}

export interface ServedRollout {
  windows: number;
  stopCosine: number;
  steps: ServedRolloutStep[];
  /** Mean number of concepts a chain produced before it stopped or reached the last step. */
  meanLength: number;
}

/**
 * The chain /v1/generate returns (generateChain), for every window at once: predict, stop the chain when the
 * prediction has cosine above `stopCosine` with the previous one, else pick the stored concept with the
 * highest dot product that is neither one of the window's context rows nor already picked (ties: lower row,
 * as the exact index), and slide the window by the picked concept's stored vector. `picks`, when given,
 * receives each chain's picked rows.
 */
export async function servedRollout(
  predict: Predict,
  model: ReferenceModel,
  store: ConceptStore,
  index: RetrievalIndex,
  targets: Int32Array,
  steps: number,
  stopCosine = DEGENERATE_COSINE,
  picks?: number[][],
  /** The model's hubness penalty, as /v1/generate ranks (predictions are unit vectors, as served). */
  penalty?: { values: Float32Array; weight: number },
): Promise<ServedRollout> {
  const { context, dim } = model.config;
  const n = targets.length;
  const contexts = gatherContexts(store, targets, context);
  const docEnd = documentEnds(store, targets);
  const used = Array.from(targets, (t) => new Set(Array.from({ length: context }, (_, j) => t - context + j)));
  const running = new Uint8Array(n).fill(1);
  const length = new Int32Array(n);
  const chainRows = Array.from(targets, () => [] as number[]);
  let previous: Float32Array | null = null;
  const result: ServedRolloutStep[] = [];
  for (let s = 1; s <= steps && running.some((r) => r === 1); s++) {
    const predicted = await predict(contexts, n, model.lastWeight);
    const scores = readAndDispose(tf.tidy(() => tf.matMul(tf.tensor2d(predicted, [n, dim]), index.transposed)));
    let chains = 0;
    let consecutive = 0;
    let truth = 0;
    let exact = 0;
    let truthCount = 0;
    for (let i = 0; i < n; i++) {
      if (!running[i]) continue;
      chains++;
      if (previous) {
        const c = dotAt(predicted, i * dim, previous, i * dim, dim);
        consecutive += c;
        if (c > stopCosine) {
          running[i] = 0;
          continue;
        }
      }
      let pick = -1;
      let best = Number.NEGATIVE_INFINITY;
      const off = i * index.count;
      const w = penalty?.weight ?? 0;
      for (let r = 0; r < index.count; r++) {
        const score = w ? scores[off + r] - w * penalty!.values[r] : scores[off + r];
        if (score > best && !used[i].has(r)) [best, pick] = [score, r];
      }
      if (pick < 0) {
        running[i] = 0;
        continue;
      }
      used[i].add(pick);
      chainRows[i].push(pick);
      length[i]++;
      const row = targets[i] + s - 1;
      if (row < docEnd[i]) {
        truth += dotAt(store.vectors, pick * dim, store.vectors, row * dim, dim);
        exact += pick === row ? 1 : 0;
        truthCount++;
      }
      slide(contexts, i, context, dim, store.vectors.subarray(pick * dim, (pick + 1) * dim));
    }
    result.push({
      step: s,
      chains,
      consecutiveCosine: previous && chains ? consecutive / chains : null,
      cosineToTruth: truthCount ? truth / truthCount : null,
      exact: truthCount ? (100 * exact) / truthCount : null,
    });
    previous = predicted;
  }
  picks?.push(...chainRows);
  return { windows: n, stopCosine, steps: result, meanLength: n ? length.reduce((a, b) => a + b, 0) / n : 0 };
}
