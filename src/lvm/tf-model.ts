// TF.js implementation of the architectures (training and batched inference). Same equations and tensor
// names as reference.ts, which is the specification; test/lvm/reference.test.ts checks they agree.
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig, RecurrentConfig, TensorMap, TransformerConfig } from "./model-format.ts";

export type TfParams = Map<string, tf.Tensor>;

export function toTfParams(tensors: TensorMap, trainable = false): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  for (const [name, t] of tensors) params.set(name, tf.variable(tf.tensor(t.data, t.shape), trainable, `lvm/${name}/${Math.random()}`));
  return params;
}

export function fromTfParams(params: TfParams): TensorMap {
  const tensors: TensorMap = new Map();
  for (const [name, t] of params) tensors.set(name, { shape: t.shape.slice(), data: new Float32Array(t.dataSync()) });
  return tensors;
}

function p(params: TfParams, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`model has no tensor '${name}'`);
  return t;
}

/** x [rows, in] @ W [in, out] + b. */
function dense(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D);
  return b ? (tf.add(y, b) as tf.Tensor2D) : (y as tf.Tensor2D);
}

/** Contexts [batch, context, dim] (row-major) -> `context` time steps of [batch, dim], oldest first. */
export function timeMajor(contexts: Float32Array, batch: number, context: number, dim: number): tf.Tensor2D[] {
  const steps: tf.Tensor2D[] = [];
  for (let t = 0; t < context; t++) {
    const step = new Float32Array(batch * dim);
    for (let b = 0; b < batch; b++) step.set(contexts.subarray((b * context + t) * dim, (b * context + t + 1) * dim), b * dim);
    steps.push(tf.tensor2d(step, [batch, dim]));
  }
  return steps;
}

/** GRU step (see reference.ts gruCell). */
function gruStep(params: TfParams, l: number, x: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor2D {
  const q = (n: string) => p(params, `gru.${l}.${n}`);
  const r = tf.sigmoid(tf.add(dense(x, q("w_ir"), q("b_ir")), dense(h, q("w_hr"), q("b_hr"))));
  const z = tf.sigmoid(tf.add(dense(x, q("w_iz"), q("b_iz")), dense(h, q("w_hz"), q("b_hz"))));
  const n = tf.tanh(tf.add(dense(x, q("w_in"), q("b_in")), tf.mul(r, dense(h, q("w_hn"), q("b_hn")))));
  return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D;
}

/** LSTM step (see reference.ts lstmCell). */
function lstmStep(params: TfParams, l: number, x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const q = (n: string) => p(params, `lstm.${l}.${n}`);
  const pre = (g: string) => tf.add(dense(x, q(`w_i${g}`), q(`b_${g}`)), dense(h, q(`w_h${g}`), null));
  const i = tf.sigmoid(pre("i"));
  const f = tf.sigmoid(pre("f"));
  const g = tf.tanh(pre("g"));
  const o = tf.sigmoid(pre("o"));
  const cNew = tf.add(tf.mul(f, c), tf.mul(i, g));
  return [tf.mul(o, tf.tanh(cNew)) as tf.Tensor2D, cNew as tf.Tensor2D];
}

/** Training-time dropout (inverted: kept units scaled by 1 / (1 - rate)); identity at inference. */
export interface Dropout {
  rate: number;
  /** Seed of this step; each mask adds its own offset so that a resumed run draws the same masks. */
  seed: number;
}

function drop(x: tf.Tensor2D, dropout: Dropout | undefined, k: number): tf.Tensor2D {
  if (!dropout || dropout.rate <= 0) return x;
  return tf.dropout(x, dropout.rate, undefined, dropout.seed * 1009 + k) as tf.Tensor2D;
}

function recurrent(params: TfParams, config: RecurrentConfig, steps: tf.Tensor2D[], dropout?: Dropout): tf.Tensor2D {
  const batch = steps[0].shape[0];
  let sequence = steps;
  for (let l = 0; l < config.layers; l++) {
    let h = tf.zeros([batch, config.hidden]) as tf.Tensor2D;
    let c = tf.zeros([batch, config.hidden]) as tf.Tensor2D;
    const outputs: tf.Tensor2D[] = [];
    for (const [t, input] of sequence.entries()) {
      const x = drop(input, dropout, l * 16 + t);
      if (config.arch === "gru") h = gruStep(params, l, x, h);
      else [h, c] = lstmStep(params, l, x, h, c);
      outputs.push(h);
    }
    sequence = outputs;
  }
  return sequence[sequence.length - 1];
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
}

function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

function transformer(params: TfParams, config: TransformerConfig, steps: tf.Tensor2D[], dropout?: Dropout): tf.Tensor2D {
  const { context, width, heads } = config;
  const batch = steps[0].shape[0];
  const dh = width / heads;
  // [batch, context, width]
  let x = tf.add(
    tf.stack(
      steps.map((s) => dense(s, p(params, "embed.w"), p(params, "embed.b"))),
      1,
    ),
    p(params, "embed.pos"),
  ) as tf.Tensor3D;
  const splitHeads = (t: tf.Tensor2D) => tf.transpose(tf.reshape(t, [batch, context, heads, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
  for (let l = 0; l < config.layers; l++) {
    const q = (n: string) => p(params, `layers.${l}.${n}`);
    const a = tf.reshape(layerNorm(x, q("ln1.g"), q("ln1.b")), [batch * context, width]) as tf.Tensor2D;
    const qh = splitHeads(dense(a, q("attn.wq"), q("attn.bq")));
    const kh = splitHeads(dense(a, q("attn.wk"), q("attn.bk")));
    const vh = splitHeads(dense(a, q("attn.wv"), q("attn.bv")));
    const probs = tf.softmax(tf.mul(tf.matMul(qh, kh, false, true), 1 / Math.sqrt(dh)));
    const o = tf.reshape(tf.transpose(tf.matMul(probs, vh), [0, 2, 1, 3]), [batch * context, width]) as tf.Tensor2D;
    x = tf.add(x, tf.reshape(drop(dense(o, q("attn.wo"), q("attn.bo")), dropout, 2 * l), [batch, context, width]));
    const b = tf.reshape(layerNorm(x, q("ln2.g"), q("ln2.b")), [batch * context, width]) as tf.Tensor2D;
    const f = dense(gelu(dense(b, q("ffn.w1"), q("ffn.b1"))) as tf.Tensor2D, q("ffn.w2"), q("ffn.b2"));
    x = tf.add(x, tf.reshape(drop(f, dropout, 2 * l + 1), [batch, context, width]));
  }
  const last = tf.reshape(tf.slice(x, [0, context - 1, 0], [batch, 1, width]), [batch, width]);
  return layerNorm(last, p(params, "final_ln.g"), p(params, "final_ln.b")) as tf.Tensor2D;
}

export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-24)));
}

/** Unit prediction before any blend (reference.ts predictRaw): steps are `context` tensors [batch, dim]. */
export function tfPredictRaw(params: TfParams, config: ModelConfig, steps: tf.Tensor2D[], dropout?: Dropout): tf.Tensor2D {
  const trunk = config.arch === "transformer" ? transformer(params, config, steps, dropout) : recurrent(params, config, steps, dropout);
  const features = drop(trunk, dropout, 999);
  let y = dense(features, p(params, "head.w"), p(params, "head.b"));
  if (config.residual) y = tf.add(y, steps[steps.length - 1]) as tf.Tensor2D;
  return l2Normalize(y);
}

/** unit((1 - w) * pred + w * last) (reference.ts blendWithLast). */
export function tfBlend(pred: tf.Tensor2D, last: tf.Tensor2D, w: number): tf.Tensor2D {
  if (w === 0) return pred;
  return l2Normalize(tf.add(tf.mul(1 - w, pred), tf.mul(w, last)));
}

/** Batched inference on a Float32Array of contexts [batch, context, dim]; returns [batch, dim] predictions. */
export function tfPredict(params: TfParams, config: ModelConfig, contexts: Float32Array, batch: number, lastWeight = 0): Float32Array {
  const out = tf.tidy(() => {
    const steps = timeMajor(contexts, batch, config.context, config.dim);
    return tfBlend(tfPredictRaw(params, config, steps), steps[steps.length - 1], lastWeight);
  });
  // Read outside tf.tidy: a typed array returned from tidy is walked element by element.
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}
