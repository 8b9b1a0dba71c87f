// `lvm train`: InfoNCE / MSE / cosine training of an LVM on a concept store with TF.js, checkpointed every
// epoch and resumable, early-stopped on validation R@5, with the last-context blend and the hubness penalty
// tuned on validation.
// This file is the loop; options.ts, batches.ts, schedule.ts, validate.ts and checkpoint.ts do the parts.
import * as tf from "@tensorflow/tfjs";
import { createRetrievalIndex, storeHubnessTf } from "../eval/retrieval.ts";
import { HUBNESS_NEIGHBOURS } from "../index/hubness.ts";
import { initTensors, parameterCount } from "../lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION, type ModelManifest, type SplitRecord } from "../lvm/model-format.ts";
import { readModel, writeModel } from "../lvm/read-model.ts";
import { createRng, shuffle } from "../lvm/rng.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { fromTfParams, tfPredictRaw, toTfParams } from "../lvm/tf-model.ts";
import { evenSample, splitDocuments, splitRecord, storeChangeSinceSplit, windowTargets } from "../lvm/windows.ts";
import { readStore } from "../store/fs-store.ts";
import { buildBatch, NegativeQueue, trainRows } from "./batches.ts";
import {
  type CheckpointState,
  checkpointDir,
  loadOptimizer,
  readCheckpointModel,
  readCheckpointState,
  removeCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { cosineLoss, infoNceLoss, mseLoss } from "./losses.ts";
import { DEFAULT_HUBNESS_GRID, modelConfigFor, type TrainOptions } from "./options.ts";
import type { EpochRecord, TrainHooks } from "./progress.ts";
import { learningRate } from "./schedule.ts";
import { combineSources, extraStoresChanged } from "./training-source.ts";
import { chooseBlend, retrievalSettings, validate } from "./validate.ts";

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
  let state: CheckpointState | null = null;
  if (resume) {
    state = await readCheckpointState(given.out);
    log(`resuming at epoch ${state.nextEpoch + 1}/${state.options.epochs}`);
  }
  const options = state ? state.options : given;
  const mainStore = await readStore(options.store);
  const extraPaths = options.extraStores ?? [];
  const combined = combineSources(mainStore, await Promise.all(extraPaths.map(async (path) => ({ path, store: await readStore(path) }))));
  // `store` is the main store followed by the extra stores' rows; the main store's rows and documents keep
  // their indices, so its split, validation windows and retrieval index are those of the main store alone.
  const store = combined.source;
  const config = modelConfigFor(options, store.dim);
  const { context } = config;
  const split = splitDocuments(mainStore.documents.length, options.seed);
  const record: SplitRecord = splitRecord(mainStore, split, options.seed);
  if (combined.extras.length > 0) {
    record.extraStores = combined.extras;
    record.extraTrain = combined.extraDocuments.map((d) => store.documents[d].id);
  }
  const checkpoint = state ? await readCheckpointModel(given.out) : null;
  if (checkpoint) {
    // The split is recomputed from the store: a store that changed since the run began would give another one.
    const saved = checkpoint.manifest.split;
    const differs = (["train", "val", "test"] as const).some((part) => saved[part].join("\n") !== record[part].join("\n"));
    const changed = storeChangeSinceSplit(mainStore, saved) ?? (differs ? "the recomputed split differs from the saved one" : null);
    if (changed)
      throw new Error(`cannot resume ${given.out}: the store ${options.store} changed since training began (${changed}); train anew`);
    const extraChanged = extraStoresChanged(combined.extras, saved.extraStores ?? []);
    if (extraChanged) throw new Error(`cannot resume ${given.out}: ${extraChanged}; train anew`);
  }
  const trainDocuments = [...split.train, ...combined.extraDocuments];
  const trainTargets = evenSample(windowTargets(store, trainDocuments, context), options.maxTrainWindows);
  const valTargets = evenSample(windowTargets(store, split.val, context), options.maxValWindows);
  if (trainTargets.length < options.batch) throw new Error(`only ${trainTargets.length} training windows for batch ${options.batch}`);
  const data = trainRows(store, trainDocuments);

  const tensors = checkpoint ? checkpoint.tensors : initTensors(config, options.seed);
  const params = toTfParams(tensors, true);
  const varList = [...params.values()];
  const optimizer = tf.train.adam(options.lr);
  if (state) await loadOptimizer(checkpointDir(given.out), optimizer);
  const index = createRetrievalIndex(mainStore.vectors, store.dim);

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
    encoder: { id: mainStore.encoder.id, dim: store.dim },
    training: {
      preset: options.preset,
      parameters: parameterCount(config),
      options: { ...options, out: undefined },
      store: {
        count: mainStore.count,
        documents: mainStore.documents.length,
        trainWindows: trainTargets.length,
        valWindows: valTargets.length,
        ...(combined.extras.length > 0 ? { extra: combined.extras } : {}),
      },
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
  let stoppedEarly = false;
  try {
    for (let epoch = st.nextEpoch; epoch < options.epochs; epoch++) {
      const started = Date.now();
      const rng = createRng(options.seed * 7919 + epoch + 1);
      const order = Int32Array.from(trainTargets);
      shuffle(order, rng);
      const queue = options.queue ? new NegativeQueue(options.queue) : undefined;
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const B = options.batch;
        const batchTargets = order.subarray(s * B, (s + 1) * B);
        const batch = buildBatch(store, batchTargets, context, options, data, rng, queue);
        queue?.push(batchTargets);
        const { C } = batch;
        const lr = learningRate(options, st.globalStep, totalSteps);
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const loss = tf.tidy(() => {
          const steps = batch.steps.map((d) => tf.tensor2d(d, [B, dim]));
          const target = tf.tensor2d(batch.target, [B, dim]);
          const candidates = batch.candidates ? tf.tensor2d(batch.candidates, [dim, C]) : null;
          const labelT = batch.labels ? tf.tensor2d(batch.labels, [B, C]) : null;
          const maskT = batch.mask ? tf.tensor2d(batch.mask, [B, C]) : null;
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
        // Let timers (the CLI's progress lines off a terminal) and signals through between steps.
        await new Promise((resolve) => setImmediate(resolve));
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
      await saveCheckpoint(given.out, baseManifest(), fromTfParams(params), optimizer, st);
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
    const hubness = storeHubnessTf(index, mainStore.vectors, HUBNESS_NEIGHBOURS);
    const hubnessGrid = options.hubnessGrid ?? DEFAULT_HUBNESS_GRID;
    const blend = chooseBlend(store, index, val.predictions, valTargets, context, options.blendGrid, {
      values: hubness,
      grid: hubnessGrid,
    });
    for (const t of bestParams.values()) t.dispose();
    log(
      `blend chosen on validation: lastWeight ${blend.lastWeight}, hubness weight ${blend.hubnessWeight} (mean of R@1/5/10/20 = ${blend.score.toFixed(2)})`,
    );
    st.done = true;
    const manifest = await writeModel(
      given.out,
      {
        ...baseManifest(),
        blend: { lastWeight: blend.lastWeight },
        ...retrievalSettings(blend.hubnessWeight),
        training: { ...baseManifest().training, blendSweep: blend.sweep },
      },
      best.tensors,
    );
    await removeCheckpoint(given.out, st);
    return { manifest, history: st.history, wallSeconds: st.wallSeconds, stoppedEarly };
  } finally {
    index.dispose();
    for (const t of params.values()) t.dispose();
    optimizer.dispose();
  }
}
