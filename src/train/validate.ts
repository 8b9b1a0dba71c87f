// Validation during training: R@k and cosine of a model's predictions on the validation windows, and the
// choice of the last-context blend weight on them.
import { type RecallSummary, type RetrievalIndex, rankTargets, summarizeRanks } from "../eval/retrieval.ts";
import type { ModelConfig } from "../lvm/model-format.ts";
import { type TfParams, tfPredict } from "../lvm/tf-model.ts";
import { gatherContexts } from "../lvm/windows.ts";
import type { ConceptStore } from "../store/concept-store.ts";

/** Validation: predictions for the windows, then R@k against the whole store with the context excluded. */
export function validate(
  params: TfParams,
  config: ModelConfig,
  store: ConceptStore,
  index: RetrievalIndex,
  targets: Int32Array,
  lastWeight = 0,
): { r1: number; r5: number; cosine: number; predictions: Float32Array } {
  const { context, dim } = config;
  const predictions = new Float32Array(targets.length * dim);
  for (let from = 0; from < targets.length; from += 512) {
    const to = Math.min(targets.length, from + 512);
    predictions.set(tfPredict(params, config, gatherContexts(store, targets, context, from, to), to - from, lastWeight), from * dim);
  }
  let cosine = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] * dim;
    for (let j = 0; j < dim; j++) cosine += predictions[i * dim + j] * store.vectors[t + j];
  }
  const summary = summarizeRanks(rankTargets(index, predictions, targets, context).ranks.excluded);
  return { r1: summary["r@1"], r5: summary["r@5"], cosine: cosine / Math.max(1, targets.length), predictions };
}

/** The last context vector of each window [n, dim]. */
function lastContexts(store: ConceptStore, targets: Int32Array): Float32Array {
  const dim = store.dim;
  const out = new Float32Array(targets.length * dim);
  for (let i = 0; i < targets.length; i++) out.set(store.vectors.subarray((targets[i] - 1) * dim, targets[i] * dim), i * dim);
  return out;
}

/** The blend weight from `grid` with the best mean of R@1/5/10/20 on validation, and the whole sweep. */
export function chooseBlend(
  store: ConceptStore,
  index: RetrievalIndex,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  grid: number[],
): { lastWeight: number; score: number; sweep: ({ lastWeight: number } & RecallSummary)[] } {
  const { blended } = rankTargets(index, predictions, targets, context, { last: lastContexts(store, targets), weights: grid });
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
