// `lvm train`: InfoNCE / MSE / cosine training of an LVM on a concept store with TF.js, checkpointed every
// epoch and resumable, early-stopped on validation R@5, with the last-context blend tuned on validation.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { createRetrievalIndex, type RetrievalIndex, rankTargets, summarizeRanks } from "../eval/retrieval.ts";
import { initTensors, type Preset, parameterCount, presetConfig } from "../lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION, type ModelConfig, type ModelManifest, type SplitRecord } from "../lvm/model-format.ts";
import { readModel, writeModel } from "../lvm/read-model.ts";
import { createRng, shuffle } from "../lvm/rng.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { fromTfParams, type TfParams, tfPredict, tfPredictRaw, toTfParams } from "../lvm/tf-model.ts";
import { gatherContexts, splitDocuments, splitRecord, windowTargets } from "../lvm/windows.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { readStore } from "../store/fs-store.ts";
import { cosineLoss, infoNceLoss, type LossWeights, mseLoss } from "./losses.ts";

export interface TrainOptions {
  store: string;
  out: string;
  preset: Preset;
  /** Size overrides applied to the preset (hidden, layers, width, heads, ffn, residual). */
  sizes: Partial<Record<"hidden" | "layers" | "width" | "heads" | "ffn", number>> & { residual?: boolean };
  epochs: number;
  batch: number;
  lr: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of `lr` (cosine decay after warm-up). */
  minLrFraction: number;
  temperature: number;
  loss: LossWeights;
  /** Extra negatives per step sampled from the training documents' concepts (InfoNCE). */
  negatives: number;
  /** Add the concepts right after and right before each window (same article) as negatives. */
  hardNegatives: boolean;
  seed: number;
  /** Stop after this many epochs without a better validation R@5. */
  patience: number;
  /** Cap on training windows per epoch and on validation windows (tests, quick runs); 0 = all. */
  maxTrainWindows: number;
  maxValWindows: number;
  /** Dropout rate during training (inputs of each recurrent layer, residual branches, features before the head). */
  dropout?: number;
  /** Blend weights tried on validation after training (0 = no blend). */
  blendGrid: number[];
}

export const DEFAULT_BLEND_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

export interface StepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
  valR5: number | null;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valR5: number;
  valR1: number;
  valCosine: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface TrainHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(record: EpochRecord): void;
  log?(line: string): void;
  /** Called after each epoch's checkpoint; returning true stops (tests simulate a kill with it). */
  stopAfterEpoch?(epoch: number): boolean;
}

interface CheckpointState {
  options: TrainOptions;
  nextEpoch: number;
  globalStep: number;
  bestValR5: number;
  bestEpoch: number;
  history: EpochRecord[];
  wallSeconds: number;
  done: boolean;
}

export function modelConfigFor(options: TrainOptions, dim: number): ModelConfig {
  const config = { ...presetConfig(options.preset, dim) } as ModelConfig & Record<string, unknown>;
  for (const [k, v] of Object.entries(options.sizes)) if (v !== undefined) config[k] = v;
  return config;
}

const checkpointDir = (out: string) => join(out, "checkpoint");

async function saveOptimizer(dir: string, optimizer: tf.Optimizer): Promise<void> {
  const weights = await optimizer.getWeights();
  const meta = weights.map((w) => ({ name: w.name, shape: w.tensor.shape }));
  const total = weights.reduce((n, w) => n + w.tensor.size, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const w of weights) {
    data.set(w.tensor.dataSync() as Float32Array, o);
    o += w.tensor.size;
  }
  await writeFile(join(dir, "optimizer.bin.tmp"), new Uint8Array(data.buffer));
  await writeFile(join(dir, "optimizer.json.tmp"), JSON.stringify(meta));
  await rename(join(dir, "optimizer.bin.tmp"), join(dir, "optimizer.bin"));
  await rename(join(dir, "optimizer.json.tmp"), join(dir, "optimizer.json"));
}

async function loadOptimizer(dir: string, optimizer: tf.Optimizer): Promise<void> {
  const meta = JSON.parse(await readFile(join(dir, "optimizer.json"), "utf8")) as { name: string; shape: number[] }[];
  const bytes = await readFile(join(dir, "optimizer.bin"));
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let o = 0;
  const weights = meta.map((m) => {
    const n = m.shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(data.subarray(o, o + n), m.shape);
    o += n;
    return { name: m.name, tensor };
  });
  await optimizer.setWeights(weights);
}

function learningRate(options: TrainOptions, step: number, totalSteps: number): number {
  const { lr, warmupSteps } = options;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const minLr = lr * options.minLrFraction;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

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

function evenSample(targets: Int32Array, max: number): Int32Array {
  if (max <= 0 || targets.length <= max) return targets;
  const out = new Int32Array(max);
  for (let i = 0; i < max; i++) out[i] = targets[Math.floor((i * targets.length) / max)];
  return out;
}

export interface TrainResult {
  manifest: ModelManifest;
  history: EpochRecord[];
  wallSeconds: number;
  stoppedEarly: boolean;
}

/** Trains (or resumes, when `<out>/checkpoint/state.json` exists and resume is set) and writes the best model to `out`. */
export async function train(given: TrainOptions, hooks: TrainHooks = {}, resume = false): Promise<TrainResult | null> {
  await initLvmBackend();
  const log = hooks.log ?? (() => {});
  const ckpt = checkpointDir(given.out);
  let state: CheckpointState | null = null;
  if (resume) {
    try {
      state = JSON.parse(await readFile(join(ckpt, "state.json"), "utf8")) as CheckpointState;
    } catch {
      throw new Error(`nothing to resume: ${join(ckpt, "state.json")} is missing`);
    }
    if (state.done) throw new Error(`training in ${given.out} already finished`);
    log(`resuming at epoch ${state.nextEpoch + 1}/${state.options.epochs}`);
  }
  const options = state ? state.options : given;
  const store = await readStore(options.store);
  const config = modelConfigFor(options, store.dim);
  const { context } = config;
  const split = splitDocuments(store.documents.length, options.seed);
  const record: SplitRecord = splitRecord(store, split, options.seed);
  const trainTargets = evenSample(windowTargets(store, split.train, context), options.maxTrainWindows);
  const valTargets = evenSample(windowTargets(store, split.val, context), options.maxValWindows);
  if (trainTargets.length < options.batch) throw new Error(`only ${trainTargets.length} training windows for batch ${options.batch}`);
  const trainRows = Int32Array.from(
    split.train.flatMap((d) => Array.from({ length: store.documents[d].count }, (_, i) => store.documents[d].first + i)),
  );
  const docFirst = new Int32Array(store.count);
  const docEnd = new Int32Array(store.count);
  for (const d of store.documents)
    for (let r = d.first; r < d.first + d.count; r++) [docFirst[r], docEnd[r]] = [d.first, d.first + d.count];

  const tensors = state ? (await readModel(join(ckpt, "last"))).tensors : initTensors(config, options.seed);
  const params = toTfParams(tensors, true);
  const varList = [...params.values()];
  const optimizer = tf.train.adam(options.lr);
  if (state) await loadOptimizer(ckpt, optimizer);
  const index = createRetrievalIndex(store.vectors, store.dim);

  const stepsPerEpoch = Math.floor(trainTargets.length / options.batch);
  const totalSteps = stepsPerEpoch * options.epochs;
  const st: CheckpointState = state ?? {
    options,
    nextEpoch: 0,
    globalStep: 0,
    bestValR5: -1,
    bestEpoch: -1,
    history: [],
    wallSeconds: 0,
    done: false,
  };
  const baseManifest = (): Omit<ModelManifest, "tensors"> => ({
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    arch: config.arch,
    config,
    encoder: { id: store.encoder.id, dim: store.dim },
    training: {
      preset: options.preset,
      parameters: parameterCount(config),
      options: { ...options, out: undefined },
      store: { count: store.count, documents: store.documents.length, trainWindows: trainTargets.length, valWindows: valTargets.length },
      epochsRun: st.history.length,
      bestEpoch: st.bestEpoch + 1,
      history: st.history,
      wallSeconds: Math.round(st.wallSeconds),
    },
    split: record,
  });
  log(
    `${config.arch} ${parameterCount(config).toLocaleString("en-US")} parameters; ${trainTargets.length} training windows, ${valTargets.length} validation windows; ${stepsPerEpoch} steps/epoch`,
  );
  const dim = store.dim;
  const V = store.vectors;
  let stoppedEarly = false;
  try {
    for (let epoch = st.nextEpoch; epoch < options.epochs; epoch++) {
      const started = Date.now();
      const rng = createRng(options.seed * 7919 + epoch + 1);
      const order = Int32Array.from(trainTargets);
      shuffle(order, rng);
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const B = options.batch;
        const batchTargets = order.subarray(s * B, (s + 1) * B);
        const stepData = Array.from({ length: context }, () => new Float32Array(B * dim));
        const targetData = new Float32Array(B * dim);
        for (let i = 0; i < B; i++) {
          const t = batchTargets[i];
          for (let c = 0; c < context; c++) stepData[c].set(V.subarray((t - context + c) * dim, (t - context + c + 1) * dim), i * dim);
          targetData.set(V.subarray(t * dim, (t + 1) * dim), i * dim);
        }
        // Candidates for InfoNCE: the batch's targets, hard negatives, sampled training concepts (unique rows).
        let candT: Float32Array | null = null;
        let labels: Float32Array | null = null;
        let mask: Float32Array | null = null;
        let C = 0;
        if (options.loss.infonce > 0) {
          const column = new Map<number, number>();
          const add = (row: number) => {
            if (!column.has(row)) column.set(row, column.size);
          };
          for (const t of batchTargets) add(t);
          if (options.hardNegatives) {
            for (const t of batchTargets) {
              if (t + 1 < docEnd[t]) add(t + 1);
              if (t - context - 1 >= docFirst[t]) add(t - context - 1);
            }
          }
          for (let k = 0; k < options.negatives; k++) add(trainRows[rng.int(trainRows.length)]);
          C = column.size;
          candT = new Float32Array(dim * C);
          for (const [row, j] of column) for (let d = 0; d < dim; d++) candT[d * C + j] = V[row * dim + d];
          labels = new Float32Array(B * C);
          mask = new Float32Array(B * C);
          for (let i = 0; i < B; i++) {
            const t = batchTargets[i];
            labels[i * C + (column.get(t) as number)] = 1;
            for (let r = t - context; r < t; r++) {
              const j = column.get(r);
              if (j !== undefined) mask[i * C + j] = -1e9;
            }
          }
        }
        const lr = learningRate(options, st.globalStep, totalSteps);
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const loss = tf.tidy(() => {
          const steps = stepData.map((d) => tf.tensor2d(d, [B, dim]));
          const target = tf.tensor2d(targetData, [B, dim]);
          const candidates = candT ? tf.tensor2d(candT, [dim, C]) : null;
          const labelT = labels ? tf.tensor2d(labels, [B, C]) : null;
          const maskT = mask ? tf.tensor2d(mask, [B, C]) : null;
          const cost = optimizer.minimize(
            () => {
              const pred = tfPredictRaw(params, config, steps, { rate: options.dropout ?? 0, seed: options.seed * 100003 + st.globalStep });
              let total = tf.scalar(0);
              const w = options.loss;
              if (w.infonce > 0 && candidates && labelT && maskT)
                total = tf.add(total, tf.mul(w.infonce, infoNceLoss(pred, candidates, labelT, options.temperature, maskT)));
              if (w.mse > 0) total = tf.add(total, tf.mul(w.mse, mseLoss(pred, target)));
              if (w.cosine > 0) total = tf.add(total, tf.mul(w.cosine, cosineLoss(pred, target)));
              return total as tf.Scalar;
            },
            true,
            varList,
          );
          return (cost as tf.Scalar).dataSync()[0];
        });
        if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at epoch ${epoch + 1} step ${s + 1}`);
        lossSum += loss;
        st.globalStep++;
        hooks.onStep?.({
          epoch,
          epochs: options.epochs,
          step: s + 1,
          steps: stepsPerEpoch,
          loss: lossSum / (s + 1),
          lr,
          valR5: st.history.length ? st.history[st.history.length - 1].valR5 : null,
        });
      }
      const trainSeconds = (Date.now() - started) / 1000;
      const val = validate(params, config, store, index, valTargets);
      const seconds = (Date.now() - started) / 1000;
      const rec: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: lossSum / Math.max(1, stepsPerEpoch),
        valR5: val.r5,
        valR1: val.r1,
        valCosine: val.cosine,
        seconds,
        samplesPerSecond: (stepsPerEpoch * options.batch) / trainSeconds,
      };
      st.history.push(rec);
      st.wallSeconds += seconds;
      st.nextEpoch = epoch + 1;
      const improved = val.r5 > st.bestValR5;
      if (improved) {
        st.bestValR5 = val.r5;
        st.bestEpoch = epoch;
        await writeModel(given.out, baseManifest(), fromTfParams(params));
      }
      await mkdir(ckpt, { recursive: true });
      await writeModel(join(ckpt, "last"), baseManifest(), fromTfParams(params));
      await saveOptimizer(ckpt, optimizer);
      await writeFile(join(ckpt, "state.json.tmp"), JSON.stringify(st));
      await rename(join(ckpt, "state.json.tmp"), join(ckpt, "state.json"));
      hooks.onEpoch?.(rec);
      log(
        `epoch ${epoch + 1}/${options.epochs}: loss ${rec.trainLoss.toFixed(4)}, val R@1 ${val.r1.toFixed(2)} R@5 ${val.r5.toFixed(2)} cos ${val.cosine.toFixed(3)}${improved ? " (best)" : ""}, ${seconds.toFixed(0)}s, ${rec.samplesPerSecond.toFixed(0)} samples/s`,
      );
      if (hooks.stopAfterEpoch?.(epoch + 1)) return null;
      if (epoch - st.bestEpoch >= options.patience) {
        stoppedEarly = epoch + 1 < options.epochs;
        if (stoppedEarly) log(`early stop: no better validation R@5 for ${options.patience} epochs`);
        break;
      }
    }
    // Tune the last-context blend on validation with the best weights.
    const best = await readModel(given.out);
    const bestParams = toTfParams(best.tensors);
    const val = validate(bestParams, config, store, index, valTargets);
    const { blended } = rankTargets(index, val.predictions, valTargets, context, {
      last: lastContexts(store, valTargets),
      weights: options.blendGrid,
    });
    let bestW = 0;
    let bestScore = -1;
    const sweep = options.blendGrid.map((w, k) => {
      const s = summarizeRanks(blended[k].excluded);
      const score = (s["r@1"] + s["r@5"] + s["r@10"] + s["r@20"]) / 4;
      if (score > bestScore + 1e-9) [bestScore, bestW] = [score, w];
      return { lastWeight: w, ...s };
    });
    for (const t of bestParams.values()) t.dispose();
    log(`blend chosen on validation: lastWeight ${bestW} (mean of R@1/5/10/20 = ${bestScore.toFixed(2)})`);
    st.done = true;
    const manifest = await writeModel(
      given.out,
      { ...baseManifest(), blend: { lastWeight: bestW }, training: { ...baseManifest().training, blendSweep: sweep } },
      best.tensors,
    );
    await writeFile(join(ckpt, "state.json"), JSON.stringify(st));
    await rm(ckpt, { recursive: true, force: true });
    return { manifest, history: st.history, wallSeconds: st.wallSeconds, stoppedEarly };
  } finally {
    index.dispose();
    for (const t of params.values()) t.dispose();
    optimizer.dispose();
  }
}
