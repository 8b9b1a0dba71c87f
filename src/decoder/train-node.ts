// `lvm train-decoder`'s loop (Node): teacher forcing, cross-entropy, Adam with global-norm clipping, on TF.js; a
// time box, validation loss on article-disjoint sentences, the model written at every validation and at the end,
// with the optimizer state (optimizer-format.ts) beside it. `resume` continues a written run exactly (weights,
// Adam's moments and bias correction, data order); `init` starts from a written model's weights only.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { createRng } from "../lvm/rng.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { epochBatches, makeBatch } from "./batches.ts";
import type { SentenceSet } from "./dataset-format.ts";
import { type DecoderConfig, DecoderFormatError, decoderParameterCount, encodeDecoder, initDecoderTensors } from "./model-format.ts";
import { readDecoder } from "./model-node.ts";
import {
  checkResumable,
  decodeOptimizerState,
  encodeOptimizerState,
  OPTIMIZER_BIN,
  OPTIMIZER_JSON,
  type OptimizerState,
  OptimizerStateError,
  sentenceSetFingerprint,
  type TensorMoments,
  zeroMoments,
} from "./optimizer-format.ts";
import { type DecoderParams, fromDecoderParams, tfDecoderLoss, toDecoderParams } from "./tf-decoder.ts";

export interface TrainDecoderOptions {
  train: SentenceSet;
  val: SentenceSet;
  out: string;
  config: DecoderConfig;
  /** Start from this model directory's weights (config must match); Adam and the data order start afresh. */
  init?: string;
  /** Continue the run written in this directory exactly (its optimizer state; options and data must match). */
  resume?: string;
  batch: number;
  lr: number;
  clip: number;
  minutes: number;
  /** Stop at this step, counted from the run's start (a resumed run included). */
  maxSteps: number;
  /** Validate (and write the model) every this many steps. */
  validateEvery: number;
  /** Validation sentences used (the first ones of the set). */
  valSentences: number;
  seed: number;
  log?: (line: string) => void;
  /** Provenance written into model.json. */
  sources: Record<string, unknown>;
}

export interface TrainRecord {
  step: number;
  seconds: number;
  trainLoss: number;
  valLoss: number;
  tokensPerSecond: number;
}

/** Mean cross-entropy per target token (nats) over the first `count` sentences, in batches, no gradient. */
export function validationLoss(params: DecoderParams, config: DecoderConfig, set: SentenceSet, count: number, batch: number): number {
  const n = Math.min(count, set.offsets.length - 1);
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < n; i += batch) {
    const rows = Int32Array.from({ length: Math.min(batch, n - i) }, (_, k) => i + k);
    const b = makeBatch(set, rows);
    const weight = b.mask.reduce((a, x) => a + x, 0);
    const loss = tf.tidy(() => tfDecoderLoss(params, config, b).dataSync()[0]);
    sum += loss * weight;
    tokens += weight;
  }
  return sum / Math.max(tokens, 1);
}

// TF.js's Adam keeps beta^(t+1) in two private float32 variables, multiplied once per step. setWeights recomputes
// them with pow(), which can differ in the last bit, so they are saved and restored as they are.
type AdamInternals = { beta1: number; beta2: number; epsilon: number; accBeta1: tf.Variable; accBeta2: tf.Variable };

function adamInternals(optimizer: tf.AdamOptimizer): AdamInternals {
  const a = optimizer as unknown as AdamInternals;
  if (!(a.accBeta1 instanceof tf.Variable) || !(a.accBeta2 instanceof tf.Variable))
    throw new Error("this TF.js's Adam has no accBeta1/accBeta2: its state cannot be saved or restored exactly");
  return a;
}

/** Adam's moments by decoder tensor name (zeros before the first step, when TF.js has not made them yet). */
async function adamMoments(optimizer: tf.AdamOptimizer, params: DecoderParams): Promise<Map<string, TensorMoments>> {
  const weights = await optimizer.getWeights();
  weights[0].tensor.dispose(); // "iter", made by getWeights
  const byName = new Map(weights.slice(1).map((w) => [w.name, w.tensor]));
  const moments = new Map<string, TensorMoments>();
  for (const [name, v] of params) {
    const m = byName.get(`${v.name}/m`);
    const s = byName.get(`${v.name}/v`);
    if (!m || !s) {
      if (byName.size > 0) throw new Error(`Adam has no moments for '${name}'`);
      return zeroMoments(fromDecoderParams(params));
    }
    moments.set(name, { shape: v.shape.slice(), m: new Float32Array(m.dataSync()), v: new Float32Array(s.dataSync()) });
  }
  return moments;
}

/** Puts a saved state into a fresh Adam over `params`: the moments in the order TF.js pairs them with the variables. */
async function restoreAdam(
  optimizer: tf.AdamOptimizer,
  params: DecoderParams,
  { state, moments }: { state: OptimizerState; moments: Map<string, TensorMoments> },
  where: string,
) {
  const a = adamInternals(optimizer);
  if (a.beta1 !== state.adam.beta1 || a.beta2 !== state.adam.beta2 || a.epsilon !== state.adam.epsilon)
    throw new OptimizerStateError(
      `${where}/${OPTIMIZER_JSON}: adam: beta1 ${state.adam.beta1}, beta2 ${state.adam.beta2}, epsilon ${state.adam.epsilon}; this Adam has ${a.beta1}, ${a.beta2}, ${a.epsilon}`,
    );
  const named: { name: string; tensor: tf.Tensor }[] = [{ name: "iter", tensor: tf.scalar(state.step, "int32") }];
  for (const part of ["m", "v"] as const)
    for (const [name, v] of params) {
      const t = moments.get(name);
      if (!t) throw new OptimizerStateError(`${where}/${OPTIMIZER_JSON}: tensors: no moments for '${name}'`);
      named.push({ name: `${v.name}/${part}`, tensor: tf.tensor(t[part], t.shape) });
    }
  await optimizer.setWeights(named);
  for (const n of named) n.tensor.dispose();
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(state.adam.accBeta1));
    a.accBeta2.assign(tf.scalar(state.adam.accBeta2));
  });
}

/** The optimizer state in `dir`, decoded and checked (the caller checks it against the run and the model). */
async function readOptimizerState(dir: string) {
  const json = await readFile(join(dir, OPTIMIZER_JSON), "utf8").catch(() => undefined);
  if (json === undefined)
    throw new OptimizerStateError(
      `${dir} has no optimizer state (${OPTIMIZER_JSON}): it cannot be resumed exactly (written before resume existed, or not by lvm train-decoder); --init ${dir} starts from its weights with a fresh Adam`,
    );
  const bin = await readFile(join(dir, OPTIMIZER_BIN)).catch(() => {
    throw new OptimizerStateError(`${dir}/${OPTIMIZER_BIN} is missing (${OPTIMIZER_JSON} is there)`);
  });
  return decodeOptimizerState(json, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength), dir);
}

export async function trainDecoder(o: TrainDecoderOptions): Promise<{ history: TrainRecord[]; parameters: number }> {
  await initLvmBackend();
  const log = o.log ?? (() => {});
  if (o.train.dim !== o.config.dim || o.val.dim !== o.config.dim)
    throw new Error(`sentence vectors are ${o.train.dim}-D, the decoder reads ${o.config.dim}-D`);
  if (o.init && o.resume)
    throw new Error("--init and --resume exclude each other: --resume continues a run, --init starts one from weights");
  const n = o.train.offsets.length - 1;
  if (n < o.batch) throw new Error(`the training file has ${n} sentences, fewer than one batch of ${o.batch}`);
  const data = { train: sentenceSetFingerprint(o.train), val: sentenceSetFingerprint(o.val) };
  const resumeOptions = { lr: o.lr, batch: o.batch, clip: o.clip, seed: o.seed, config: o.config };
  let tensors = initDecoderTensors(o.config, o.seed);
  let resumed: Awaited<ReturnType<typeof readOptimizerState>> | undefined;
  const from = o.init ?? o.resume;
  if (from) {
    const flag = o.init ? "--init" : "--resume";
    const saved = await readDecoder(from);
    if (saved.precision !== "f32")
      throw new DecoderFormatError(`${flag} ${from} is an INT8 decoder: continue from the float32 model it was quantised from`);
    if (JSON.stringify(saved.model.config) !== JSON.stringify(o.config))
      throw new DecoderFormatError(`${flag} ${from} has config ${JSON.stringify(saved.model.config)}, not ${JSON.stringify(o.config)}`);
    if (o.resume) {
      resumed = await readOptimizerState(o.resume);
      const { weights, training } = saved.manifest as { weights: { bytes: number; fnv1a: number }; training: Record<string, unknown> };
      checkResumable(resumed.state, { options: resumeOptions, data, weights, steps: training.steps }, o.resume);
    }
    tensors = saved.model.tensors;
  }
  const params = toDecoderParams(tensors);
  const vars = [...params.values()];
  const optimizer = tf.train.adam(o.lr);
  const adam = adamInternals(optimizer);
  if (resumed && o.resume) await restoreAdam(optimizer, params, resumed, o.resume);
  const parameters = decoderParameterCount(o.config);
  const sentences = Int32Array.from({ length: n }, (_, i) => i);
  const history: TrainRecord[] = resumed ? (resumed.state.history as unknown as TrainRecord[]) : [];
  const started = Date.now();
  const deadline = started + o.minutes * 60_000;
  const earlierSeconds = resumed?.state.seconds ?? 0;
  let step = resumed?.state.step ?? 0;
  // Batches done of epoch `epoch`'s order: the next one is batches[done].
  let epoch = resumed?.state.position.epoch ?? 0;
  let done = resumed?.state.position.batch ?? 0;
  let tokens = resumed?.state.tokens ?? 0;
  let runTokens = 0;
  let lossSum = 0;
  let lossCount = 0;
  if (resumed) log(`resuming ${o.resume} at step ${step} (epoch ${epoch + 1}, batch ${done + 1})`);
  const write = async (valLoss: number) => {
    const seconds = (Date.now() - started) / 1000;
    history.push({
      step,
      seconds: Math.round(earlierSeconds + seconds),
      trainLoss: lossSum / Math.max(lossCount, 1),
      valLoss,
      tokensPerSecond: runTokens / seconds,
    });
    log(
      `step ${step}: train ${(lossSum / Math.max(lossCount, 1)).toFixed(3)} val ${valLoss.toFixed(3)} nats/token, ${(runTokens / seconds).toFixed(0)} tokens/s, ${seconds.toFixed(0)} s`,
    );
    lossSum = 0;
    lossCount = 0;
    const model = encodeDecoder(
      { config: o.config, tensors: fromDecoderParams(params) },
      { id: o.train.encoder, dim: o.train.dim },
      {
        parameters,
        steps: step,
        tokens,
        seconds: Math.round(earlierSeconds + seconds),
        tokensPerSecond: Math.round(runTokens / seconds),
        batch: o.batch,
        lr: o.lr,
        clip: o.clip,
        seed: o.seed,
        init: o.init ?? null,
        resume: o.resume ?? null,
        sources: o.sources,
        history,
      },
    );
    const state = encodeOptimizerState(
      {
        step,
        adam: {
          beta1: adam.beta1,
          beta2: adam.beta2,
          epsilon: adam.epsilon,
          accBeta1: adam.accBeta1.dataSync()[0],
          accBeta2: adam.accBeta2.dataSync()[0],
        },
        position: { epoch, batch: done },
        tokens,
        seconds: earlierSeconds + seconds,
        options: resumeOptions,
        data,
        weights: model.manifest.weights,
        history: history as unknown as Record<string, unknown>[],
      },
      await adamMoments(optimizer, params),
    );
    // model.json last: it is the commit point. A kill between renames leaves files whose recorded sizes and FNV-1a
    // disagree (model.json's weights, optimizer.json's weights and moments), which readDecoder and --resume refuse.
    await writeFilesAtomic(
      o.out,
      [
        { name: "weights.bin", data: model.bytes },
        { name: OPTIMIZER_BIN, data: state.bytes },
        { name: OPTIMIZER_JSON, data: state.json },
        { name: "model.json", data: `${JSON.stringify(model.manifest, null, 1)}\n` },
      ],
      { mkdir: true },
    );
  };
  outer: while (true) {
    const batches = epochBatches(sentences, o.batch, o.train, createRng(o.seed * 7919 + epoch));
    while (done < batches.length) {
      if (Date.now() >= deadline || step >= o.maxSteps) break outer;
      const b = makeBatch(o.train, batches[done]);
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tfDecoderLoss(params, o.config, b), vars);
        const names = Object.keys(grads);
        const norm = Math.sqrt(names.reduce((s, k) => s + tf.sum(tf.square(grads[k])).dataSync()[0], 0));
        const scale = norm > o.clip ? o.clip / norm : 1;
        const scaled: Record<string, tf.Tensor> = {};
        for (const k of names) scaled[k] = scale === 1 ? grads[k] : tf.mul(grads[k], scale);
        optimizer.applyGradients(scaled as never);
        return value.dataSync()[0];
      });
      if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${step + 1}`);
      step++;
      done++;
      const stepTokens = b.mask.reduce((a, x) => a + x, 0);
      tokens += stepTokens;
      runTokens += stepTokens;
      lossSum += loss;
      lossCount++;
      if (step % 50 === 0)
        log(
          `step ${step}: loss ${(lossSum / lossCount).toFixed(3)} (${(runTokens / ((Date.now() - started) / 1000)).toFixed(0)} tokens/s)`,
        );
      if (step % o.validateEvery === 0) await write(validationLoss(params, o.config, o.val, o.valSentences, 128));
      await new Promise((resolve) => setImmediate(resolve));
    }
    epoch++;
    done = 0;
  }
  await write(validationLoss(params, o.config, o.val, o.valSentences, 128));
  optimizer.dispose();
  for (const v of vars) v.dispose();
  return { history, parameters };
}
