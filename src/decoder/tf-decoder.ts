/**
 * The decoder in TF.js for training: the teacher-forced cross-entropy of a batch, with the equations of
 * reference.ts (test/decoder checks the logits agree). Time-major inside: step t's rows are contiguous.
 */
import * as tf from "@tensorflow/tfjs";
import type { TensorMap } from "../lvm/model-format.ts";
import type { DecoderConfig } from "./model-format.ts";

export type DecoderParams = Map<string, tf.Variable>;

export function toDecoderParams(tensors: TensorMap): DecoderParams {
  const params: DecoderParams = new Map();
  for (const [name, t] of tensors) params.set(name, tf.variable(tf.tensor(t.data, t.shape), true, `decoder/${name}/${Math.random()}`));
  return params;
}

export function fromDecoderParams(params: DecoderParams): TensorMap {
  const tensors: TensorMap = new Map();
  for (const [name, t] of params) tensors.set(name, { shape: t.shape.slice(), data: new Float32Array(t.dataSync()) });
  return tensors;
}

/** One padded batch, time-major: `inputs[t * B + b]` is the token fed at step t (<s> first), `targets` the next one. */
export interface DecoderBatch {
  batch: number;
  steps: number;
  /** [B, D] */
  vectors: Float32Array;
  /** [T, B] */
  inputs: Int32Array;
  /** [T, B] */
  targets: Int32Array;
  /** [T, B]: 1 where the target is a real token (or </s>), 0 on padding. */
  mask: Float32Array;
}

/**
 * Rows of `table` [V, E] at `ids` [N] -> [N, E]. The gradient is a scatter-add (scatterND sums duplicate ids):
 * TF.js's own gather gradient needs UnsortedSegmentSum, which the WASM backend lacks.
 */
const lookup = tf.customGrad(((table: tf.Tensor, ids: tf.Tensor, save: tf.GradSaveFunc) => {
  save([ids]);
  return {
    value: tf.gather(table as tf.Tensor2D, ids as tf.Tensor1D),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [
      tf.scatterND(tf.expandDims(saved[0], 1), dy as tf.Tensor, table.shape),
      tf.zerosLike(saved[0]),
    ],
  };
}) as never) as (table: tf.Tensor, ids: tf.Tensor) => tf.Tensor2D;

function p(params: DecoderParams, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`decoder has no tensor '${name}'`);
  return t;
}

/** Logits [T * B, V], time-major, of a teacher-forced batch. */
export function tfDecoderLogits(params: DecoderParams, c: DecoderConfig, b: DecoderBatch): tf.Tensor2D {
  const { batch: B, steps: T } = b;
  const H = c.hidden;
  const v = tf.tensor2d(b.vectors, [B, c.dim]);
  let h = tf.tanh(tf.add(tf.matMul(v, p(params, "cond.w") as tf.Tensor2D), p(params, "cond.b"))) as tf.Tensor2D;
  const wx = p(params, "gru.w_x") as tf.Tensor2D;
  const wxE = tf.slice(wx, [0, 0], [c.embed, 3 * H]);
  const wxV = tf.slice(wx, [c.embed, 0], [c.dim, 3 * H]);
  const xv = tf.add(tf.matMul(v, wxV), p(params, "gru.b_x"));
  const emb = lookup(p(params, "embed.tokens"), tf.tensor1d(b.inputs, "int32"));
  // [T, B, 3H] -> T tensors [B, 3H]
  const xe = tf.unstack(tf.reshape(tf.matMul(emb, wxE), [T, B, 3 * H]));
  const wh = p(params, "gru.w_h") as tf.Tensor2D;
  const bh = p(params, "gru.b_h");
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const [xr, xz, xn] = tf.split(tf.add(xe[t], xv), 3, 1);
    const [hr, hz, hn] = tf.split(tf.add(tf.matMul(h, wh), bh), 3, 1);
    const r = tf.sigmoid(tf.add(xr, hr));
    const z = tf.sigmoid(tf.add(xz, hz));
    const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
    h = tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D;
    outputs.push(h);
  }
  const hs = tf.reshape(tf.stack(outputs), [T * B, H]) as tf.Tensor2D;
  return tf.add(tf.matMul(hs, p(params, "head.w") as tf.Tensor2D), p(params, "head.b")) as tf.Tensor2D;
}

/** Mean cross-entropy (nats per target token, padding masked out) of a teacher-forced batch. */
export function tfDecoderLoss(params: DecoderParams, c: DecoderConfig, b: DecoderBatch): tf.Scalar {
  const logits = tfDecoderLogits(params, c, b);
  const logp = tf.logSoftmax(logits);
  const onehot = tf.oneHot(tf.tensor1d(b.targets, "int32"), c.vocab);
  const nll = tf.neg(tf.sum(tf.mul(logp, onehot), 1));
  const mask = tf.tensor1d(b.mask);
  return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}
