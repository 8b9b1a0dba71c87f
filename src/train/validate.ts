// Validation during training: R@k and cosine of a model's predictions on the validation windows, and the
// choice of the last-context blend weight and the hubness penalty weight on them.

import { copyLastPredictions, meanCosineToTarget } from "../eval/metrics.ts";
import { type RecallSummary, type RetrievalIndex, rankTargets, summarizeRanks } from "../eval/retrieval.ts";
import { HUBNESS_NEIGHBOURS, type StoreHubness } from "../index/hubness.ts";
import type { HubnessSettings, ModelConfig } from "../lvm/model-format.ts";
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

/** One point of the validation sweep: blend weight, hubness penalty weight and the recall they give. */
export type BlendSweepEntry = { lastWeight: number; hubnessWeight: number } & RecallSummary;

/**
 * The blend weight from `grid` and the hubness penalty weight from `hubness.grid` (0 alone without it) with
 * the best mean of R@1/5/10/20 on the windows given (validation), and the whole sweep. The penalty-free
 * entries come first, so a penalty is chosen only when it beats every blend without one.
 */
export function chooseBlend(
  store: TrainingSource,
  index: RetrievalIndex,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  grid: number[],
  hubness?: { values: StoreHubness; grid: number[] },
): { lastWeight: number; hubnessWeight: number; score: number; sweep: BlendSweepEntry[] } {
  const hubGrid = hubness ? hubness.grid : [0];
  const pairs = hubGrid.flatMap((b) => grid.map((w) => ({ w, b })));
  const { blended } = rankTargets(index, predictions, targets, context, {
    last: copyLastPredictions(store, targets),
    weights: pairs.map((p) => p.w),
    hubWeights: pairs.map((p) => p.b),
    hubness: hubness?.values.values,
  });
  let best = { w: 0, b: 0 };
  let bestScore = -1;
  const sweep = pairs.map(({ w, b }, k) => {
    const s = summarizeRanks(blended[k].excluded);
    const score = (s["r@1"] + s["r@5"] + s["r@10"] + s["r@20"]) / 4;
    if (score > bestScore + 1e-9) [bestScore, best] = [score, { w, b }];
    return { lastWeight: w, hubnessWeight: b, ...s };
  });
  return { lastWeight: best.w, hubnessWeight: best.b, score: bestScore, sweep };
}

/** model.json's `retrieval` for a chosen penalty weight: absent at 0 (plain cosine, as models before it). */
export function retrievalSettings(hubnessWeight: number): { retrieval?: { hubness: HubnessSettings } } {
  return hubnessWeight > 0 ? { retrieval: { hubness: { neighbours: HUBNESS_NEIGHBOURS, weight: hubnessWeight } } } : {};
}
