// `lvm train-decoder`'s loop (Node): teacher forcing, cross-entropy, Adam with global-norm clipping, on TF.js; a
// time box, validation loss on article-disjoint sentences, the model written at every validation and at the end.
// Resuming (--init) restarts from a written model's weights with a fresh Adam state (its moments are not saved).
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../lvm/rng.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { epochBatches, makeBatch } from "./batches.ts";
import type { SentenceSet } from "./dataset-format.ts";
import { type DecoderConfig, decoderParameterCount, initDecoderTensors } from "./model-format.ts";
import { readDecoder, writeDecoder } from "./model-node.ts";
import { type DecoderParams, fromDecoderParams, tfDecoderLoss, toDecoderParams } from "./tf-decoder.ts";

export interface TrainDecoderOptions {
  train: SentenceSet;
  val: SentenceSet;
  out: string;
  config: DecoderConfig;
  /** Start from this model directory's weights (config must match). */
  init?: string;
  batch: number;
  lr: number;
  clip: number;
  minutes: number;
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

export async function trainDecoder(o: TrainDecoderOptions): Promise<{ history: TrainRecord[]; parameters: number }> {
  await initLvmBackend();
  const log = o.log ?? (() => {});
  if (o.train.dim !== o.config.dim || o.val.dim !== o.config.dim)
    throw new Error(`sentence vectors are ${o.train.dim}-D, the decoder reads ${o.config.dim}-D`);
  let tensors = initDecoderTensors(o.config, o.seed);
  if (o.init) {
    const init = await readDecoder(o.init);
    if (init.precision !== "f32")
      throw new Error(`--init ${o.init} is an INT8 decoder: continue from the float32 model it was quantised from`);
    if (JSON.stringify(init.model.config) !== JSON.stringify(o.config))
      throw new Error(`--init ${o.init} has config ${JSON.stringify(init.model.config)}, not ${JSON.stringify(o.config)}`);
    tensors = init.model.tensors;
  }
  const params = toDecoderParams(tensors);
  const vars = [...params.values()];
  const optimizer = tf.train.adam(o.lr);
  const parameters = decoderParameterCount(o.config);
  const n = o.train.offsets.length - 1;
  const sentences = Int32Array.from({ length: n }, (_, i) => i);
  const history: TrainRecord[] = [];
  const started = Date.now();
  const deadline = started + o.minutes * 60_000;
  let step = 0;
  let tokens = 0;
  let lossSum = 0;
  let lossCount = 0;
  const write = async (valLoss: number) => {
    const seconds = (Date.now() - started) / 1000;
    history.push({
      step,
      seconds: Math.round(seconds),
      trainLoss: lossSum / Math.max(lossCount, 1),
      valLoss,
      tokensPerSecond: tokens / seconds,
    });
    log(
      `step ${step}: train ${(lossSum / Math.max(lossCount, 1)).toFixed(3)} val ${valLoss.toFixed(3)} nats/token, ${(tokens / seconds).toFixed(0)} tokens/s, ${seconds.toFixed(0)} s`,
    );
    lossSum = 0;
    lossCount = 0;
    await writeDecoder(
      o.out,
      { config: o.config, tensors: fromDecoderParams(params) },
      { id: o.train.encoder, dim: o.train.dim },
      {
        parameters,
        steps: step,
        tokens,
        seconds: Math.round(seconds),
        tokensPerSecond: Math.round(tokens / seconds),
        batch: o.batch,
        lr: o.lr,
        clip: o.clip,
        seed: o.seed,
        init: o.init ?? null,
        sources: o.sources,
        history,
      },
    );
  };
  let epoch = 0;
  outer: while (true) {
    const rng = createRng(o.seed * 7919 + epoch++);
    for (const rows of epochBatches(sentences, o.batch, o.train, rng)) {
      if (Date.now() >= deadline || step >= o.maxSteps) break outer;
      const b = makeBatch(o.train, rows);
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
      tokens += b.mask.reduce((a, x) => a + x, 0);
      lossSum += loss;
      lossCount++;
      if (step % 50 === 0)
        log(`step ${step}: loss ${(lossSum / lossCount).toFixed(3)} (${(tokens / ((Date.now() - started) / 1000)).toFixed(0)} tokens/s)`);
      if (step % o.validateEvery === 0) await write(validationLoss(params, o.config, o.val, o.valSentences, 128));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await write(validationLoss(params, o.config, o.val, o.valSentences, 128));
  return { history, parameters };
}
