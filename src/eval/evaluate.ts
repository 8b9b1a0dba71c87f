// `lvm eval`: the research report's tests (1.1 load, 1.2 validation, 1.3 speed, 2.1 top-k retrieval) done
// honestly (article-disjoint test split, baselines computed the same way, context excluded from the
// candidates; the report's protocol as a second column), plus MRR, margin, contrastive accuracy,
// article-clustered bootstrap intervals (bootstrap.ts) and autoregressive rollouts (rollout.ts).
import { basename } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadCore } from "../core/wasm-core-node.ts";
import { loadStoreIndex } from "../index/hnsw-build.ts";
import type { HnswCoreIndex } from "../index/hnsw-core.ts";
import { type HubnessPenalty, penalisedSearch, type StoreHubness } from "../index/hubness.ts";
import { parameterCount } from "../lvm/architectures.ts";
import type { HubnessSettings, ModelManifest } from "../lvm/model-format.ts";
import { modelSizeOnDisk, readModel } from "../lvm/read-model.ts";
import { blendWithLast, forward, type ReferenceModel } from "../lvm/reference.ts";
import { CoreLvm } from "../lvm/runners/core-lvm.ts";
import { openRunnerForModel } from "../lvm/runners/select-node.ts";
import type { BackendName } from "../lvm/runners/types.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../lvm/tf-model.ts";
import { documentsForEvaluation, evenSample, gatherContexts, storeChangeSinceSplit, windowTargets } from "../lvm/windows.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { readStore } from "../store/fs-store.ts";
import { type BootstrapSettings, clusteredBootstrap, DEFAULT_BOOTSTRAP, type RecallIntervals } from "./bootstrap.ts";
import { contrastiveAccuracy, copyLastPredictions, meanContextPredictions, meanCosineToTarget, meanMargin } from "./metrics.ts";
import {
  createRetrievalIndex,
  type Ranks,
  type RecallSummary,
  type RetrievalIndex,
  rankTargets,
  storeHubnessTf,
  summarizeRanks,
} from "./retrieval.ts";
import { type Predict, type RawRollout, rawRollout, type ServedRollout, servedRollout } from "./rollout.ts";

export type { RolloutStep } from "./rollout.ts";

/** One predictor's retrieval row: recall in percent, MRR a fraction, cosine to the target. */
export interface RetrievalRow extends RecallSummary {
  cosine: number;
}

export interface PredictorResult {
  /** Context excluded from the candidates (the honest protocol). */
  excluded: RetrievalRow;
  /** Context left among the candidates (the research report's protocol). */
  included: RetrievalRow;
  /** mean cos(pred, next) - cos(pred, last context). */
  margin: number;
  /** Percent, see metrics.ts. */
  contrastiveAccuracy: number;
}

export interface ModelEvaluation {
  name: string;
  dir: string;
  arch: string;
  config: ModelManifest["config"];
  blend: number;
  /**
   * The model's hubness penalty (model.json retrieval.hubness; null: plain cosine). With one, the model's rows
   * (blended, without blend, via the index, the reference) rank by cosine - weight * hub(c); copy-last and
   * mean-of-context stay plain cosine, and copyLastHubness is copy-last with the same penalty.
   */
  hubness: HubnessSettings | null;
  load: { parameters: number; epoch: number | null; epochsRun: number | null; sizeBytes: number; loadMs: number };
  validation: { windows: number; mse: number; cosine: number; infoNce: number; temperature: number };
  throughput: {
    batch32: { msPerBatch: number; samplesPerSecond: number };
    batch1: { msPerBatch: number; samplesPerSecond: number };
    referenceBatch1Ms: number;
  };
  test: PredictorResult;
  /** The same model without the last-context blend, with its hubness penalty if any (shows what the blend adds). */
  testUnblended: PredictorResult | null;
  /** The shipped scoring through the store's approximate index (HNSW), when it has one and --exact is off. */
  testIndexed: { index: string; ef: number; excluded: RetrievalRow } | null;
  /** The raw predicted vector fed back as the newest context concept. */
  rollout: RawRollout;
  /** The chain /v1/generate serves (best unused stored concept fed back); null in reports written before it. */
  servedRollout: ServedRollout | null;
  testWindows: number;
  testDocuments: number;
  sameStore: boolean;
  /** Why the store is not the one the model's split was made from (null: it is); recall then uses other candidates. */
  storeChange: string | null;
  /** The baselines on this model's own test windows (null in reports written before they were per model). */
  baselines: { copyLast: PredictorResult; meanContext: PredictorResult; copyLastHubness?: PredictorResult } | null;
  /** Article-clustered bootstrap intervals on this model's test windows (null in older reports). */
  intervals: ModelIntervals | null;
  /** The same model file on another backend (--reference), predictions compared window by window. */
  reference: ReferenceComparison | null;
}

/** 95% intervals of each predictor and of the paired differences, the same resampled articles for all. */
export interface ModelIntervals extends BootstrapSettings {
  /** Test articles (the unit resampled). */
  articles: number;
  model: RecallIntervals;
  copyLast: RecallIntervals;
  meanContext: RecallIntervals;
  /** model - copy-last, paired. */
  difference: RecallIntervals;
  /** The model without its blend, and its paired difference to copy-last (blended models only). */
  unblended: RecallIntervals | null;
  unblendedDifference: RecallIntervals | null;
  /** Copy-last ranked with the model's hubness penalty, and model - it, paired (models with a penalty only). */
  copyLastHubness: RecallIntervals | null;
  copyLastHubnessDifference: RecallIntervals | null;
  /** This model - the first model of the report, paired (both scored on the same windows); null for the first. */
  versusFirst: { name: string; difference: RecallIntervals } | null;
}

/** The evaluated backend against a reference backend running the same model file (e.g. INT8 core vs TF.js). */
export interface ReferenceComparison {
  backend: string;
  /** The reference's predictions (same blend) scored like the model's. */
  excluded: RetrievalRow;
  /** Cosine between the two backends' predictions, per test window. */
  minCosine: number;
  meanCosine: number;
  /** model - reference, paired bootstrap. */
  difference: RecallIntervals;
}

export interface EvaluationReport {
  store: { dir: string; count: number; documents: number; encoder: string };
  createdAt: string;
  seconds: number;
  /** The split the windows come from: "test" (the benchmark) or "val" (for choices between models). */
  part: "test" | "val";
  models: ModelEvaluation[];
  baselines: { copyLast: PredictorResult; meanContext: PredictorResult; copyLastHubness?: PredictorResult; testWindows: number };
}

export interface EvalOptions {
  store: string;
  models: string[];
  rolloutSteps: number;
  rolloutWindows: number;
  /** Cap on test windows (0 = all). */
  maxWindows: number;
  /** Where the model runs (throughput and every figure come from it). Default "tf". */
  backend?: EvalBackend;
  /** Skip the approximate-index row even when the store has an index. */
  exact?: boolean;
  /** Also run each model on this backend and compare (e.g. backend core-int8, reference tf). */
  reference?: EvalBackend;
  /** The saved split's part to score (default "test"); "val" to compare training choices without touching test. */
  part?: "test" | "val";
  /** Bootstrap resamples and seed (default 1,000, seed 1). */
  bootstrap?: BootstrapSettings;
  log?: (line: string) => void;
}

/**
 * "tf": the trained float model on TF.js (default); "core-int8" / "core-f32": the WASM core, as served; any
 * runner name of src/lvm/runners (onnxruntime on the CPU or a GPU, "auto"): the same runners the server uses.
 */
export type EvalBackend = "tf" | "core-int8" | "core-f32" | BackendName;

interface Predictor {
  /** The runner that ran (e.g. "ort-node-int8-row"; a GPU that failed names the core it fell back to). */
  id: string;
  predict: Predict;
  warning?: string;
  dispose(): void;
}

async function openPredictor(model: ReferenceModel, backend: EvalBackend): Promise<Predictor> {
  if (backend === "tf") {
    const params = toTfParams(model.tensors);
    return {
      id: "tf",
      predict: (c, b, w) => tfPredict(params, model.config, c, b, w),
      dispose: () => {
        for (const t of params.values()) t.dispose();
      },
    };
  }
  if (backend === "core-int8" || backend === "core-f32") {
    const lvm = new CoreLvm(await loadCore(), model, backend === "core-int8" ? "int8" : "f32");
    return { id: backend, predict: (c, b, w) => lvm.forward(c, b, w), dispose: () => lvm.dispose() };
  }
  // A runner's graph carries its blend; evaluation asks for several weights, so it runs unblended and blends here.
  const { runner, warning } = await openRunnerForModel({ ...model, lastWeight: 0 }, backend);
  const { context, dim } = model.config;
  return {
    id: runner.id,
    warning,
    predict: async (c, b, w) => blendWithLast(await runner.forward(c, b), c, b, context, dim, w),
    dispose: () => runner.dispose(),
  };
}

async function predictAll(
  predict: Predict,
  model: ReferenceModel,
  store: ConceptStore,
  targets: Int32Array,
  lastWeight: number,
): Promise<Float32Array> {
  const { context, dim } = model.config;
  const out = new Float32Array(targets.length * dim);
  for (let from = 0; from < targets.length; from += 512) {
    const to = Math.min(targets.length, from + 512);
    out.set(await predict(gatherContexts(store, targets, context, from, to), to - from, lastWeight), from * dim);
  }
  return out;
}

export function scorePredictor(
  store: ConceptStore,
  index: RetrievalIndex,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  precomputed?: Ranks,
): PredictorResult {
  const ranks = precomputed ?? rankTargets(index, predictions, targets, context).ranks;
  const cosine = meanCosineToTarget(store, predictions, targets);
  return {
    excluded: { ...summarizeRanks(ranks.excluded), cosine },
    included: { ...summarizeRanks(ranks.included), cosine },
    margin: meanMargin(store, predictions, targets),
    contrastiveAccuracy: contrastiveAccuracy(store, predictions, targets),
  };
}

async function time(fn: () => unknown, minMs: number, minIterations: number): Promise<number> {
  await fn();
  const start = performance.now();
  let n = 0;
  while (n < minIterations || performance.now() - start < minMs) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

/** Validation loss terms of the raw model output on the validation windows. */
function validationLosses(store: ConceptStore, predictions: Float32Array, targets: Int32Array, temperature: number) {
  const dim = store.dim;
  let mse = 0;
  let infoNce = 0;
  const batch = 256;
  for (let from = 0; from < targets.length; from += batch) {
    const to = Math.min(targets.length, from + batch);
    for (let i = from; i < to; i++) {
      const logits: number[] = [];
      for (let j = from; j < to; j++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += predictions[i * dim + d] * store.vectors[targets[j] * dim + d];
        logits.push(s / temperature);
      }
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
      infoNce += lse - logits[i - from];
      for (let d = 0; d < dim; d++) mse += (predictions[i * dim + d] - store.vectors[targets[i] * dim + d]) ** 2;
    }
  }
  const n = Math.max(1, targets.length);
  return { mse: mse / (n * dim), infoNce: infoNce / n };
}

export async function evaluate(options: EvalOptions): Promise<EvaluationReport> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  await initLvmBackend();
  const store = await readStore(options.store);
  const index = createRetrievalIndex(store.vectors, store.dim);
  // The store's HNSW index (lvm index build), scored beside the exact figures: what the server returns.
  const approximate = options.exact ? undefined : await loadStoreIndex(await loadCore(), store, options.store, { warn: log });
  const models: ModelEvaluation[] = [];
  let baselines: EvaluationReport["baselines"] | null = null;
  const part = options.part ?? "test";
  let first: { name: string; targets: Int32Array; ranks: Int32Array } | null = null;
  // hub(c) of the store, once per neighbour count (a model's penalty is over the store it is scored on).
  const hubnessCache = new Map<number, StoreHubness>();
  const hubnessOf = (neighbours: number): StoreHubness => {
    let hub = hubnessCache.get(neighbours);
    if (!hub) {
      const started = performance.now();
      hub = storeHubnessTf(index, store.vectors, neighbours);
      hubnessCache.set(neighbours, hub);
      log(`hub values of ${store.count} concepts (${neighbours} neighbours): ${((performance.now() - started) / 1000).toFixed(1)}s`);
    }
    return hub;
  };
  try {
    for (const dir of options.models) {
      const loadStart = performance.now();
      const model = await readModel(dir);
      const loadMs = performance.now() - loadStart;
      const { manifest, config } = model;
      if (manifest.encoder.dim !== store.dim || manifest.encoder.id !== store.encoder.id) {
        throw new Error(
          `${dir} was trained on ${manifest.encoder.id}/${manifest.encoder.dim}, the store holds ${store.encoder.id}/${store.dim}`,
        );
      }
      const { context } = config;
      const backend = options.backend ?? "tf";
      const predictor = await openPredictor(model, backend);
      if (predictor.warning) log(`${basename(dir)}: ${predictor.warning}`);
      const { predict } = predictor;
      try {
        const test = documentsForEvaluation(store, manifest.split, part);
        const testTargets = evenSample(windowTargets(store, test.documents, context), options.maxWindows);
        const val = documentsForEvaluation(store, manifest.split, "val");
        const valTargets = evenSample(windowTargets(store, val.documents, context), options.maxWindows);
        if (!test.sameStore)
          log(`${dir}: the store is not the training store; evaluating on its ${test.documents.length} documents unseen in training`);
        const storeChange = test.sameStore ? storeChangeSinceSplit(store, manifest.split) : null;
        if (storeChange) log(`${basename(dir)}: warning: the store changed since the model's split was made: ${storeChange}`);
        log(
          `${basename(dir)}: ${testTargets.length} ${part === "val" ? "validation" : "test"} windows from ${test.documents.length} documents`,
        );

        const training = manifest.training as { bestEpoch?: number; epochsRun?: number; options?: { temperature?: number } };
        const temperature = training.options?.temperature ?? 0.05;
        const valRaw = await predictAll(predict, model, store, valTargets, 0);
        const losses = validationLosses(store, valRaw, valTargets, temperature);

        const b32 = gatherContexts(store, testTargets.subarray(0, Math.min(32, testTargets.length)), context);
        const n32 = b32.length / (context * store.dim);
        const ms32 = await time(() => predict(b32, n32, model.lastWeight), 300, 5);
        const b1 = b32.subarray(0, context * store.dim);
        const ms1 = await time(() => predict(b1, 1, model.lastWeight), 300, 5);
        const msRef = await time(() => forward(model, b1, 1), 100, 2);

        // One pass scores the raw model, its blend with the last context and copy-last (blend weight 1):
        // the ranks of (1 - w) pred + w last need only pred . store and last . store. With a hubness penalty b
        // the model's entries and a second copy-last entry carry it.
        const raw = await predictAll(predict, model, store, testTargets, 0);
        const last = copyLastPredictions(store, testTargets);
        const w = model.lastWeight;
        const penalty: HubnessPenalty | null = model.hubness
          ? { hubness: hubnessOf(model.hubness.neighbours), weight: model.hubness.weight }
          : null;
        const b = penalty?.weight ?? 0;
        const entries: { w: number; b: number }[] = [];
        const entry = (e: { w: number; b: number }) => entries.push(e) - 1;
        const modelEntry = w > 0 || b > 0 ? entry({ w, b }) : -1;
        const unblendedEntry = w > 0 && b > 0 ? entry({ w: 0, b }) : -1;
        const copyLastEntry = entry({ w: 1, b: 0 });
        const copyLastHubnessEntry = b > 0 ? entry({ w: 1, b }) : -1;
        const { ranks: plainRanks, blended } = rankTargets(index, raw, testTargets, context, {
          last,
          weights: entries.map((e) => e.w),
          hubWeights: entries.map((e) => e.b),
          hubness: penalty?.hubness.values,
        });
        const rawRanks = unblendedEntry >= 0 ? blended[unblendedEntry] : plainRanks;
        const shipped = w > 0 ? await predictAll(predict, model, store, testTargets, w) : raw;
        const modelRanks = modelEntry >= 0 ? blended[modelEntry] : plainRanks;
        const testResult = scorePredictor(store, index, shipped, testTargets, context, modelRanks);
        const testUnblended = w > 0 ? scorePredictor(store, index, raw, testTargets, context, rawRanks) : null;
        const testIndexed = approximate ? await indexedRecall(approximate, store, shipped, testTargets, context, penalty) : null;
        // The baselines on this model's own test windows (models with other splits get their own).
        const copyLastRanks = blended[copyLastEntry];
        const copyLastHubnessRanks = copyLastHubnessEntry >= 0 ? blended[copyLastHubnessEntry] : null;
        const meanContext = meanContextPredictions(store, testTargets, context);
        const meanContextRanks = rankTargets(index, meanContext, testTargets, context).ranks;
        const own = {
          copyLast: scorePredictor(store, index, last, testTargets, context, copyLastRanks),
          meanContext: scorePredictor(store, index, meanContext, testTargets, context, meanContextRanks),
          ...(copyLastHubnessRanks
            ? { copyLastHubness: scorePredictor(store, index, last, testTargets, context, copyLastHubnessRanks) }
            : {}),
        };
        if (!baselines) baselines = { ...own, testWindows: testTargets.length };
        let reference: ReferenceComparison | null = null;
        let referenceRanks: Int32Array | null = null;
        if (options.reference) {
          const other = await openPredictor(model, options.reference);
          try {
            const theirs = await predictAll(other.predict, model, store, testTargets, w);
            // Their shipped predictions, ranked like the model's (a blend entry of weight 0 carries the penalty).
            referenceRanks = penalty
              ? rankTargets(index, theirs, testTargets, context, {
                  last: theirs,
                  weights: [0],
                  hubWeights: [b],
                  hubness: penalty.hubness.values,
                }).blended[0].excluded
              : rankTargets(index, theirs, testTargets, context).ranks.excluded;
            const cos = agreement(shipped, theirs, store.dim);
            reference = {
              backend: other.id,
              excluded: { ...summarizeRanks(referenceRanks), cosine: meanCosineToTarget(store, theirs, testTargets) },
              ...cos,
              difference: { "r@1": [0, 0], "r@5": [0, 0], "r@10": [0, 0], "r@20": [0, 0], mrr: [0, 0] },
            };
          } finally {
            other.dispose();
          }
        }
        const settings = options.bootstrap ?? DEFAULT_BOOTSTRAP;
        const sameFirst =
          first !== null && first.targets.length === testTargets.length && first.targets.every((t, i) => t === testTargets[i]);
        const clusters = Int32Array.from(testTargets, (t) => store.documentIndex(t));
        const boot = clusteredBootstrap(
          clusters,
          {
            model: modelRanks.excluded,
            copyLast: copyLastRanks.excluded,
            meanContext: meanContextRanks.excluded,
            ...(w > 0 ? { unblended: rawRanks.excluded } : {}),
            ...(copyLastHubnessRanks ? { copyLastHubness: copyLastHubnessRanks.excluded } : {}),
            ...(referenceRanks ? { reference: referenceRanks } : {}),
            ...(sameFirst ? { first: first!.ranks } : {}),
          },
          {
            difference: ["model", "copyLast"],
            ...(w > 0 ? { unblendedDifference: ["unblended", "copyLast"] } : {}),
            ...(copyLastHubnessRanks ? { copyLastHubnessDifference: ["model", "copyLastHubness"] } : {}),
            ...(referenceRanks ? { referenceDifference: ["model", "reference"] } : {}),
            ...(sameFirst ? { versusFirst: ["model", "first"] } : {}),
          },
          settings,
        );
        const intervals: ModelIntervals = {
          ...settings,
          articles: boot.articles,
          model: boot.predictors.model,
          copyLast: boot.predictors.copyLast,
          meanContext: boot.predictors.meanContext,
          difference: boot.differences.difference,
          unblended: boot.predictors.unblended ?? null,
          unblendedDifference: boot.differences.unblendedDifference ?? null,
          copyLastHubness: boot.predictors.copyLastHubness ?? null,
          copyLastHubnessDifference: boot.differences.copyLastHubnessDifference ?? null,
          versusFirst: sameFirst ? { name: first!.name, difference: boot.differences.versusFirst } : null,
        };
        if (reference) reference.difference = boot.differences.referenceDifference;
        const name = backend === "tf" ? basename(dir) : `${basename(dir)} [${predictor.id}]`;
        first ??= { name, targets: testTargets, ranks: modelRanks.excluded };
        const rolloutTargets = evenSample(testTargets, options.rolloutWindows);
        models.push({
          name,
          dir,
          arch: manifest.arch,
          config,
          blend: model.lastWeight,
          hubness: model.hubness ?? null,
          load: {
            parameters: parameterCount(config),
            epoch: training.bestEpoch ?? null,
            epochsRun: training.epochsRun ?? null,
            sizeBytes: await modelSizeOnDisk(dir),
            loadMs,
          },
          validation: {
            windows: valTargets.length,
            mse: losses.mse,
            cosine: meanCosineToTarget(store, valRaw, valTargets),
            infoNce: losses.infoNce,
            temperature,
          },
          throughput: {
            batch32: { msPerBatch: ms32, samplesPerSecond: (1000 * n32) / ms32 },
            batch1: { msPerBatch: ms1, samplesPerSecond: 1000 / ms1 },
            referenceBatch1Ms: msRef,
          },
          test: testResult,
          testUnblended,
          testIndexed,
          rollout: await rawRollout(predict, model, store, rolloutTargets, options.rolloutSteps),
          servedRollout: await servedRollout(
            predict,
            model,
            store,
            index,
            rolloutTargets,
            options.rolloutSteps,
            undefined,
            undefined,
            penalty ? { values: penalty.hubness.values, weight: penalty.weight } : undefined,
          ),
          testWindows: testTargets.length,
          testDocuments: test.documents.length,
          sameStore: test.sameStore,
          storeChange,
          baselines: own,
          intervals,
          reference,
        });
        log(`${basename(dir)}: R@5 ${testResult.excluded["r@5"].toFixed(2)} (copy-last ${baselines.copyLast.excluded["r@5"].toFixed(2)})`);
      } finally {
        predictor.dispose();
      }
    }
  } finally {
    index.dispose();
  }
  if (!baselines) throw new Error("no model to evaluate");
  tf.engine().startScope();
  tf.engine().endScope();
  return {
    store: { dir: options.store, count: store.count, documents: store.documents.length, encoder: store.encoder.id },
    createdAt: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    part,
    models,
    baselines,
  };
}

/** The `--json` object: `model`, `copyLast`, `meanContext` rows (context excluded) plus everything else. */
const INDEX_EF = 64;

/**
 * Ranks of each target among the index's top 20 (context rows excluded); a target it misses ranks past 20.
 * With a hubness penalty: penalisedSearch over the index, as the server searches (the query made unit).
 */
async function indexedRecall(
  index: HnswCoreIndex,
  store: ConceptStore,
  predictions: Float32Array,
  targets: Int32Array,
  context: number,
  penalty: HubnessPenalty | null,
) {
  const dim = store.dim;
  const ranks = new Int32Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    const exclude = new Set(Array.from({ length: context }, (_, j) => t - context + j));
    const query = predictions.subarray(i * dim, (i + 1) * dim);
    const hits = penalty
      ? await penalisedSearch(index, store.count, unit(query), 20, penalty, exclude, INDEX_EF)
      : index.search(query, 20, exclude, { ef: INDEX_EF });
    const at = hits.rows.indexOf(t);
    ranks[i] = at >= 0 ? at + 1 : store.count;
  }
  return {
    index: index.kind,
    ef: INDEX_EF,
    excluded: { ...summarizeRanks(ranks), cosine: meanCosineToTarget(store, predictions, targets) },
  };
}

function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return n > 0 ? Float32Array.from(v, (x) => x / n) : v;
}

/** Cosine between two backends' predictions of the same windows (unit rows [n, dim]): the lowest and the mean. */
function agreement(a: Float32Array, b: Float32Array, dim: number): { minCosine: number; meanCosine: number } {
  const n = a.length / dim;
  let min = Number.POSITIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let d = 0; d < dim; d++) {
      dot += a[i * dim + d] * b[i * dim + d];
      na += a[i * dim + d] ** 2;
      nb += b[i * dim + d] ** 2;
    }
    const c = dot / Math.sqrt(na * nb);
    min = Math.min(min, c);
    sum += c;
  }
  return { minCosine: n ? min : Number.NaN, meanCosine: n ? sum / n : Number.NaN };
}

/** The first model's intervals as `lvm eval --json` prints them beside `model`, `copyLast` and `meanContext`. */
function jsonIntervals(m: ModelEvaluation) {
  const i = m.intervals;
  if (!i) return null;
  return {
    resamples: i.resamples,
    seed: i.seed,
    level: i.level,
    articles: i.articles,
    unit: "article",
    model: i.model,
    copyLast: i.copyLast,
    meanContext: i.meanContext,
    difference: i.difference,
    ...(i.copyLastHubness ? { copyLastHubness: i.copyLastHubness, copyLastHubnessDifference: i.copyLastHubnessDifference } : {}),
  };
}

export function jsonSummary(report: EvaluationReport): Record<string, unknown> {
  const row = (r: RetrievalRow) => ({
    "r@1": r["r@1"],
    "r@5": r["r@5"],
    "r@10": r["r@10"],
    "r@20": r["r@20"],
    mrr: r.mrr,
    cosine: r.cosine,
  });
  const hubnessBaseline = report.models[0].baselines?.copyLastHubness;
  return {
    model: row(report.models[0].test.excluded),
    copyLast: row(report.baselines.copyLast.excluded),
    meanContext: row(report.baselines.meanContext.excluded),
    // The first model's copy-last with its hubness penalty (present only when it has one).
    ...(hubnessBaseline ? { copyLastHubness: row(hubnessBaseline.excluded) } : {}),
    intervals: jsonIntervals(report.models[0]),
    contextIncluded: {
      model: row(report.models[0].test.included),
      copyLast: row(report.baselines.copyLast.included),
      meanContext: row(report.baselines.meanContext.included),
      ...(hubnessBaseline ? { copyLastHubness: row(hubnessBaseline.included) } : {}),
    },
    ...report,
  };
}
