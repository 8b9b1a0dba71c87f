// Training losses over unit predictions and unit targets (TF.js).
import * as tf from "@tensorflow/tfjs";

/** Mean squared error per element: mean((pred - target)^2). */
export function mseLoss(pred: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.square(tf.sub(pred, target)));
}

/** 1 - mean cosine (inputs are unit rows, so cosine = dot product). */
export function cosineLoss(pred: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.sub(1, tf.mean(tf.sum(tf.mul(pred, target), -1)));
}

/**
 * InfoNCE: cross-entropy of the true candidate among all candidates, logits = pred . candidate / temperature.
 * candidatesT: [dim, C] (transposed candidate rows); labels: one-hot [batch, C]; mask: [batch, C] added to
 * the logits (0, or -1e9 for candidates that do not count for that row, e.g. its own context concepts).
 * With candidates = the batch's targets this is InfoNCE with in-batch negatives.
 */
export function infoNceLoss(
  pred: tf.Tensor2D,
  candidatesT: tf.Tensor2D,
  labels: tf.Tensor2D,
  temperature: number,
  mask?: tf.Tensor2D,
): tf.Scalar {
  let logits = tf.mul(tf.matMul(pred, candidatesT), 1 / temperature) as tf.Tensor2D;
  if (mask) logits = tf.add(logits, mask);
  return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

export interface LossWeights {
  infonce: number;
  mse: number;
  cosine: number;
}

/** Parses "infonce=1,mse=0.5" (or a single name) into weights. */
export function parseLossWeights(spec: string): LossWeights {
  const weights: LossWeights = { infonce: 0, mse: 0, cosine: 0 };
  for (const part of spec.split(",")) {
    const [name, value] = part.split("=");
    if (!(name in weights)) throw new Error(`unknown loss '${name}' (infonce, mse, cosine)`);
    const w = value === undefined ? 1 : Number(value);
    if (!Number.isFinite(w) || w < 0) throw new Error(`loss weight for ${name} must be a number >= 0`);
    weights[name as keyof LossWeights] = w;
  }
  return weights;
}
