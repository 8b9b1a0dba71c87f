// Evaluation metrics and baseline predictors over windows (predictions and targets are unit rows [n, dim]).
import * as tf from "@tensorflow/tfjs";
import { createRng, shuffle } from "../lvm/rng.ts";
import type { WindowSource } from "../lvm/windows.ts";
import { readAndDispose } from "./retrieval.ts";

/** Copy-last baseline: the prediction is the last context concept itself. */
export function copyLastPredictions(source: WindowSource, targets: Int32Array): Float32Array {
  const dim = source.dim;
  const out = new Float32Array(targets.length * dim);
  for (let i = 0; i < targets.length; i++) out.set(source.vectors.subarray((targets[i] - 1) * dim, targets[i] * dim), i * dim);
  return out;
}

/** Mean-of-context baseline: the normalised mean of the context concepts. */
export function meanContextPredictions(source: WindowSource, targets: Int32Array, context: number): Float32Array {
  const dim = source.dim;
  const out = new Float32Array(targets.length * dim);
  for (let i = 0; i < targets.length; i++) {
    const row = out.subarray(i * dim, (i + 1) * dim);
    for (let r = targets[i] - context; r < targets[i]; r++) for (let j = 0; j < dim; j++) row[j] += source.vectors[r * dim + j];
    let s = 0;
    for (let j = 0; j < dim; j++) s += row[j] * row[j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) row[j] *= inv;
  }
  return out;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += a[ao + j] * b[bo + j];
  return s;
}

/** Mean cosine between each prediction and its target concept. */
export function meanCosineToTarget(source: WindowSource, predictions: Float32Array, targets: Int32Array): number {
  const dim = source.dim;
  let s = 0;
  for (let i = 0; i < targets.length; i++) s += dot(predictions, i * dim, source.vectors, targets[i] * dim, dim);
  return s / Math.max(1, targets.length);
}

/** Mean of cos(pred, next concept) - cos(pred, previous concept = last context): > 0 means it points forward. */
export function meanMargin(source: WindowSource, predictions: Float32Array, targets: Int32Array): number {
  const dim = source.dim;
  let s = 0;
  for (let i = 0; i < targets.length; i++) {
    s +=
      dot(predictions, i * dim, source.vectors, targets[i] * dim, dim) -
      dot(predictions, i * dim, source.vectors, (targets[i] - 1) * dim, dim);
  }
  return s / Math.max(1, targets.length);
}

/**
 * Contrastive accuracy (Large Concept Models, Meta 2024): for each prediction, the fraction of the other
 * ground-truth concepts of its batch that are further from it (L2) than its own ground truth; averaged, in
 * percent. Batches are consecutive blocks of `batch` windows after a seeded shuffle (the order of `targets`
 * groups windows by article). All vectors are unit length, so "further in L2" is "lower dot product".
 * Strict: a tie does not count as further.
 */
export function contrastiveAccuracy(source: WindowSource, predictions: Float32Array, targets: Int32Array, batch = 1024, seed = 1): number {
  const dim = source.dim;
  const order = Array.from({ length: targets.length }, (_, i) => i);
  shuffle(order, createRng(seed));
  let total = 0;
  let counted = 0;
  for (let from = 0; from < order.length; from += batch) {
    const members = order.slice(from, from + batch);
    const n = members.length;
    if (n < 2) continue;
    const truthT = new Float32Array(dim * n);
    const preds = new Float32Array(n * dim);
    members.forEach((m, j) => {
      for (let d = 0; d < dim; d++) truthT[d * n + j] = source.vectors[targets[m] * dim + d];
      preds.set(predictions.subarray(m * dim, (m + 1) * dim), j * dim);
    });
    const scores = readAndDispose(tf.tidy(() => tf.matMul(tf.tensor2d(preds, [n, dim]), tf.tensor2d(truthT, [dim, n]))));
    for (let i = 0; i < n; i++) {
      const own = scores[i * n + i];
      let further = 0;
      for (let j = 0; j < n; j++) if (j !== i && scores[i * n + j] < own) further++;
      total += further / (n - 1);
      counted++;
    }
  }
  return counted ? (100 * total) / counted : Number.NaN;
}
