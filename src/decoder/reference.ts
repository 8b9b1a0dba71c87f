/**
 * Plain TypeScript reference of the decoder (float64 arithmetic, float32 weights), one function per layer; the
 * specification the TF.js training graph (tf-decoder.ts) and the WASM core runner (core-decoder.ts) are tested
 * against. Tensor names and shapes: model-format.ts.
 */
import type { TensorMap } from "../lvm/model-format.ts";
import type { DecoderConfig, DecoderModel } from "./model-format.ts";
import type { DecoderRunner, DecoderState } from "./runner.ts";

function tensor(tensors: TensorMap, name: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`decoder has no tensor '${name}'`);
  return t.data;
}

/** y [out] = x [in] @ w [in, out] + b [out]. */
export function dense(x: ArrayLike<number>, w: Float32Array, b: Float32Array | null, inDim: number, outDim: number): Float64Array {
  const y = new Float64Array(outDim);
  if (b) for (let o = 0; o < outDim; o++) y[o] = b[o];
  for (let i = 0; i < inDim; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = i * outDim;
    for (let o = 0; o < outDim; o++) y[o] += xi * w[row + o];
  }
  return y;
}

/** h0 [H] = tanh(v [D] @ cond.w [D, H] + cond.b [H]). */
export function conditionState(t: TensorMap, c: DecoderConfig, v: ArrayLike<number>): Float64Array {
  return dense(v, tensor(t, "cond.w"), tensor(t, "cond.b"), c.dim, c.hidden).map(Math.tanh);
}

/** embed [E] = embed.tokens [V, E] row `id`. */
export function embedToken(t: TensorMap, c: DecoderConfig, id: number): Float32Array {
  return tensor(t, "embed.tokens").subarray(id * c.embed, (id + 1) * c.embed);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * GRU cell, gates r | z | n (PyTorch equations): x [E + D], h [H] -> h' [H]
 *   xp = x @ w_x + b_x; hp = h @ w_h + b_h        (both [3H])
 *   r = sigmoid(xp_r + hp_r); z = sigmoid(xp_z + hp_z); n = tanh(xp_n + r * hp_n); h' = (1 - z) * n + z * h
 */
export function gruCell(t: TensorMap, c: DecoderConfig, x: ArrayLike<number>, h: ArrayLike<number>): Float64Array {
  const H = c.hidden;
  const xp = dense(x, tensor(t, "gru.w_x"), tensor(t, "gru.b_x"), c.embed + c.dim, 3 * H);
  const hp = dense(h, tensor(t, "gru.w_h"), tensor(t, "gru.b_h"), H, 3 * H);
  const out = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    const r = sigmoid(xp[j] + hp[j]);
    const z = sigmoid(xp[H + j] + hp[H + j]);
    const n = Math.tanh(xp[2 * H + j] + r * hp[2 * H + j]);
    out[j] = (1 - z) * n + z * h[j];
  }
  return out;
}

/** logits [V] = h [H] @ head.w [H, V] + head.b [V]. */
export function headLogits(t: TensorMap, c: DecoderConfig, h: ArrayLike<number>): Float64Array {
  return dense(h, tensor(t, "head.w"), tensor(t, "head.b"), c.hidden, c.vocab);
}

/** Teacher-forced logits of one sequence: inputs [T] (<s> first) -> [T, V] (float64), for tests and checks. */
export function referenceLogits(model: DecoderModel, v: ArrayLike<number>, inputs: readonly number[]): Float64Array[] {
  const { config: c, tensors: t } = model;
  let h: ArrayLike<number> = conditionState(t, c, v);
  const out: Float64Array[] = [];
  for (const id of inputs) {
    const x = new Float64Array(c.embed + c.dim);
    x.set(embedToken(t, c, id));
    x.set(v, c.embed);
    h = gruCell(t, c, x, h);
    out.push(headLogits(t, c, h));
  }
  return out;
}

/** The reference as a DecoderRunner; its conditioning is the raw vector. */
export class ReferenceDecoder implements DecoderRunner {
  readonly config: DecoderConfig;
  readonly condWidth: number;
  private readonly model: DecoderModel;
  constructor(model: DecoderModel) {
    this.model = model;
    this.config = model.config;
    this.condWidth = model.config.dim;
  }
  start(vectors: Float32Array, rows: number): DecoderState {
    const { dim, hidden } = this.config;
    const h = new Float32Array(rows * hidden);
    for (let r = 0; r < rows; r++)
      h.set(conditionState(this.model.tensors, this.config, vectors.subarray(r * dim, (r + 1) * dim)), r * hidden);
    return { rows, h, cond: vectors.slice(0, rows * dim) };
  }
  step(state: DecoderState, tokens: ArrayLike<number>): Float32Array {
    const { dim, hidden, embed, vocab } = this.config;
    const logits = new Float32Array(state.rows * vocab);
    for (let r = 0; r < state.rows; r++) {
      const x = new Float64Array(embed + dim);
      x.set(embedToken(this.model.tensors, this.config, tokens[r]));
      x.set(state.cond.subarray(r * dim, (r + 1) * dim), embed);
      const h = gruCell(this.model.tensors, this.config, x, state.h.subarray(r * hidden, (r + 1) * hidden));
      state.h.set(h, r * hidden);
      logits.set(headLogits(this.model.tensors, this.config, h), r * vocab);
    }
    return logits;
  }
}
