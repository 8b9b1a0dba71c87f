// `lvm eval`: the research report's tests (1.1 load, 1.2 validation, 1.3 speed, 2.1 top-k retrieval) done
// honestly (article-disjoint test split, baselines computed the same way, context excluded from the
// candidates; the report's protocol as a second column), plus MRR, margin, contrastive accuracy and an
// autoregressive rollout with a degeneration figure.
import { basename } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadCore } from "../core/wasm-core-node.ts";
import { loadStoreIndex } from "../index/hnsw-build.ts";
import type { HnswCoreIndex } from "../index/hnsw-core.ts";
import { parameterCount } from "../lvm/architectures.ts";
import type { ModelManifest } from "../lvm/model-format.ts";
import { modelSizeOnDisk, readModel } from "../lvm/read-model.ts";
import { blendWithLast, forward, type ReferenceModel } from "../lvm/reference.ts";
import { CoreLvm } from "../lvm/runners/core-lvm.ts";
import { openRunnerForModel } from "../lvm/runners/select-node.ts";
import type { BackendName } from "../lvm/runners/types.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../lvm/tf-model.ts";
import { documentsForEvaluation, evenSample, gatherContexts, windowTargets } from "../lvm/windows.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { readStore } from "../store/fs-store.ts";
import { contrastiveAccuracy, copyLastPredictions, meanContextPredictions, meanCosineToTarget, meanMargin } from "./metrics.ts";
import { createRetrievalIndex, type Ranks, type RecallSummary, type RetrievalIndex, rankTargets, summarizeRanks } from "./retrieval.ts";

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

export interface RolloutStep {
  step: number;
  /** Mean cosine between this generated vector and the previous one (step 1: the last real context concept). */
  consecutiveCosine: number;
  /** Mean cosine to the true concept that many steps ahead, over windows whose document has it. */
  cosineToTruth: number | null;
}

export interface ModelEvaluation {
  name: string;
  dir: string;
  arch: string;
  config: ModelManifest["config"];
  blend: number;
  load: { parameters: number; epoch: number | null; epochsRun: number | null; sizeBytes: number; loadMs: number };
  validation: { windows: number; mse: number; cosine: number; infoNce: number; temperature: number };
  throughput: {
    batch32: { msPerBatch: number; samplesPerSecond: number };
    batch1: { msPerBatch: number; samplesPerSecond: number };
    referenceBatch1Ms: number;
  };
  test: PredictorResult;
  /** The same model without the last-context blend (shows what the blend adds). */
  testUnblended: PredictorResult | null;
  /** The shipped scoring through the store's approximate index (HNSW), when it has one and --exact is off. */
  testIndexed: { index: string; ef: number; excluded: RetrievalRow } | null;
  rollout: { windows: number; steps: RolloutStep[]; degeneratedAtStep: number | null };
  testWindows: number;
  testDocuments: number;
  sameStore: boolean;
}

export interface EvaluationReport {
  store: { dir: string; count: number; documents: number; encoder: string };
  createdAt: string;
  seconds: number;
  models: ModelEvaluation[];
  baselines: { copyLast: PredictorResult; meanContext: PredictorResult; testWindows: number };
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
  log?: (line: string) => void;
}

/** contexts [batch, context, dim] -> predictions [batch, dim] with the given blend weight, on the evaluated backend. */
type Predict = (contexts: Float32Array, batch: number, lastWeight: number) => Float32Array | Promise<Float32Array>;

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

async function rollout(predict: Predict, model: ReferenceModel, store: ConceptStore, targets: Int32Array, steps: number) {
  const { context, dim } = model.config;
  const n = targets.length;
  const contexts = gatherContexts(store, targets, context);
  let previous = copyLastPredictions(store, targets);
  const docEnd = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d = store.documents[store.documentIndex(targets[i])];
    docEnd[i] = d.first + d.count;
  }
  const result: RolloutStep[] = [];
  let degeneratedAtStep: number | null = null;
  for (let s = 1; s <= steps; s++) {
    const generated = await predict(contexts, n, model.lastWeight);
    let consecutive = 0;
    let truth = 0;
    let truthCount = 0;
    for (let i = 0; i < n; i++) {
      let c = 0;
      for (let d = 0; d < dim; d++) c += generated[i * dim + d] * previous[i * dim + d];
      consecutive += c;
      const row = targets[i] + s - 1;
      if (row < docEnd[i]) {
        let t = 0;
        for (let d = 0; d < dim; d++) t += generated[i * dim + d] * store.vectors[row * dim + d];
        truth += t;
        truthCount++;
      }
      // Slide the window: drop the oldest concept, append the generated one.
      const base = i * context * dim;
      contexts.copyWithin(base, base + dim, base + context * dim);
      contexts.set(generated.subarray(i * dim, (i + 1) * dim), base + (context - 1) * dim);
    }
    result.push({ step: s, consecutiveCosine: consecutive / n, cosineToTruth: truthCount ? truth / truthCount : null });
    previous = generated;
    // Degeneration is judged between generated vectors (from step 2); step 1 compares with the last real concept.
    if (s >= 2 && consecutive / n > 0.9) {
      degeneratedAtStep = s;
      break;
    }
  }
  return { windows: n, steps: result, degeneratedAtStep };
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
        const test = documentsForEvaluation(store, manifest.split, "test");
        const testTargets = evenSample(windowTargets(store, test.documents, context), options.maxWindows);
        const val = documentsForEvaluation(store, manifest.split, "val");
        const valTargets = evenSample(windowTargets(store, val.documents, context), options.maxWindows);
        if (!test.sameStore)
          log(`${dir}: the store is not the training store; evaluating on its ${test.documents.length} documents unseen in training`);
        log(`${basename(dir)}: ${testTargets.length} test windows from ${test.documents.length} documents`);

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
        // the ranks of (1 - w) pred + w last need only pred . store and last . store.
        const raw = await predictAll(predict, model, store, testTargets, 0);
        const last = copyLastPredictions(store, testTargets);
        const w = model.lastWeight;
        const { ranks: rawRanks, blended } = rankTargets(index, raw, testTargets, context, { last, weights: w > 0 ? [w, 1] : [1] });
        const testResult =
          w > 0
            ? scorePredictor(store, index, await predictAll(predict, model, store, testTargets, w), testTargets, context, blended[0])
            : scorePredictor(store, index, raw, testTargets, context, rawRanks);
        const testUnblended = w > 0 ? scorePredictor(store, index, raw, testTargets, context, rawRanks) : null;
        const testIndexed = approximate
          ? indexedRecall(approximate, store, await predictAll(predict, model, store, testTargets, w), testTargets, context)
          : null;
        if (!baselines) {
          baselines = {
            copyLast: scorePredictor(store, index, last, testTargets, context, blended[blended.length - 1]),
            meanContext: scorePredictor(store, index, meanContextPredictions(store, testTargets, context), testTargets, context),
            testWindows: testTargets.length,
          };
        }
        const rolloutTargets = evenSample(testTargets, options.rolloutWindows);
        models.push({
          name: backend === "tf" ? basename(dir) : `${basename(dir)} [${predictor.id}]`,
          dir,
          arch: manifest.arch,
          config,
          blend: model.lastWeight,
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
          rollout: await rollout(predict, model, store, rolloutTargets, options.rolloutSteps),
          testWindows: testTargets.length,
          testDocuments: test.documents.length,
          sameStore: test.sameStore,
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
    models,
    baselines,
  };
}

/** The `--json` object: `model`, `copyLast`, `meanContext` rows (context excluded) plus everything else. */
const INDEX_EF = 64;

/** Ranks of each target among the index's top 20 (context rows excluded); a target it misses ranks past 20. */
function indexedRecall(index: HnswCoreIndex, store: ConceptStore, predictions: Float32Array, targets: Int32Array, context: number) {
  const dim = store.dim;
  const ranks = new Int32Array(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    const exclude = new Set(Array.from({ length: context }, (_, j) => t - context + j));
    const hits = index.search(predictions.subarray(i * dim, (i + 1) * dim), 20, exclude, { ef: INDEX_EF });
    const at = hits.rows.indexOf(t);
    ranks[i] = at >= 0 ? at + 1 : store.count;
  }
  return {
    index: index.kind,
    ef: INDEX_EF,
    excluded: { ...summarizeRanks(ranks), cosine: meanCosineToTarget(store, predictions, targets) },
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
  return {
    model: row(report.models[0].test.excluded),
    copyLast: row(report.baselines.copyLast.excluded),
    meanContext: row(report.baselines.meanContext.excluded),
    contextIncluded: {
      model: row(report.models[0].test.included),
      copyLast: row(report.baselines.copyLast.included),
      meanContext: row(report.baselines.meanContext.included),
    },
    ...report,
  };
}
