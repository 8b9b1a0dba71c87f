// Validation during training: R@k and cosine of a model's predictions on the validation windows, and the
// choice of the last-context blend weight on them.

import { copyLastPredictions, meanCosineToTarget } from "../eval/metrics.ts";
import { type RecallSummary, type RetrievalIndex, rankTargets, summarizeRanks } from "../eval/retrieval.ts";
import type { ModelConfig } from "../lvm/model-format.ts";
import { type TfParams, tfPredict } from "../lvm/tf-model.ts";
import { predictWindows } from "../lvm/windows.ts";
import type { TrainingSource } from "./training-source.ts";

/** Validation: predictions for the windows, then R@k against the whole store with the context excluded. */
export function validate(
  params: TfParams,
  config: ModelConfig,
  store: TrainingSource,
  index: RetrievalIndex,
  targets: Int32Array,
  lastWeight = 0,
): { r1: number; r5: number; cosine: number; predictions: Float32Array } {
  const { context } = config;
  const predictions = predictWindows(store, targets, context, (contexts, batch) => tfPredict(params, config, contexts, batch, lastWeight));
  const summary = summarizeRanks(rankTargets(index, predictions, targets, context).ranks.excluded);
  return { r1: summary["r@1"], r5: summary["r@5"], cosine: meanCosineToTarget(store, predictions, targets), predictions };
}

/** The blend weight from `grid` with the best mean of R@1/5/10/20 on validation, and the whole sweep. */
export function chooseBlend(
  store: TrainingSource,
  index: RetrievalIndex,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  grid: number[],
): { lastWeight: number; score: number; sweep: ({ lastWeight: number } & RecallSummary)[] } {
  const { blended } = rankTargets(index, predictions, targets, context, { last: copyLastPredictions(store, targets), weights: grid });
  let bestW = 0;
  let bestScore = -1;
  const sweep = grid.map((w, k) => {
    const s = summarizeRanks(blended[k].excluded);
    const score = (s["r@1"] + s["r@5"] + s["r@10"] + s["r@20"]) / 4;
    if (score > bestScore + 1e-9) [bestScore, bestW] = [score, w];
    return { lastWeight: w, ...s };
  });
  return { lastWeight: bestW, score: bestScore, sweep };
}
