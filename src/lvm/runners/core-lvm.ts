/**
 * An LVM running on the WASM core, in f32 or INT8. Weights come from the reference representation
 * (src/lvm/model-format.ts: matrices [in, out], y = x @ W + b) and are packed once into core memory as
 * [out, in] rows (gates concatenated), INT8 with one scale per output row. INT8 weights are then laid out
 * once for the register-blocked kernel of the loaded build (packI8U7 on relaxed SIMD, packI8 on plain SIMD:
 * wasm/assembly/packed*.ts). INT8 layers quantise their input activations per row at run time (dynamic
 * quantisation: u7 on relaxed SIMD, i16 codes on plain SIMD); everything else stays f32.
 */

import {
  CoreScratch,
  freeLinear,
  type LinearPrecision,
  linearBytes,
  type PackedLinear,
  packLinear,
  runLinear,
} from "../../core/packed-linear.ts";
import type { CoreBuffer, WasmCore } from "../../core/wasm-core.ts";
import { normalizeRows } from "../../math/vectors.ts";
import type { ModelConfig, TensorMap } from "../model-format.ts";

export type CorePrecision = LinearPrecision;

export interface CoreModelSource {
  config: ModelConfig;
  tensors: TensorMap;
  /** Weight of the last context in the output blend (0 = none). */
  lastWeight: number;
}

function tensor(tensors: TensorMap, name: string): { shape: number[]; data: Float32Array } {
  const t = tensors.get(name);
  if (!t) throw new Error(`model has no tensor '${name}'`);
  return t;
}

/** [in, out] matrices side by side along out, transposed to [sum(out), in]. */
function transposeConcat(mats: { shape: number[]; data: Float32Array }[]): { data: Float32Array; inDim: number; outDim: number } {
  const inDim = mats[0].shape[0];
  const outDim = mats.reduce((n, m) => n + m.shape[1], 0);
  const data = new Float32Array(outDim * inDim);
  let o0 = 0;
  for (const m of mats) {
    if (m.shape[0] !== inDim) throw new Error(`cannot concatenate matrices of input widths ${inDim} and ${m.shape[0]}`);
    const cols = m.shape[1];
    for (let i = 0; i < inDim; i++) for (let o = 0; o < cols; o++) data[(o0 + o) * inDim + i] = m.data[i * cols + o];
    o0 += cols;
  }
  return { data, inDim, outDim };
}

function concatVectors(parts: (Float32Array | null)[], lengths: number[]): Float32Array | null {
  if (parts.every((p) => p === null)) return null;
  const out = new Float32Array(lengths.reduce((a, b) => a + b, 0));
  let offset = 0;
  parts.forEach((p, i) => {
    if (p) out.set(p, offset);
    offset += lengths[i];
  });
  return out;
}

export class CoreLvm {
  readonly core: WasmCore;
  readonly config: ModelConfig;
  readonly precision: CorePrecision;
  readonly lastWeight: number;
  private readonly layers = new Map<string, PackedLinear>();
  private readonly vectors = new Map<string, CoreBuffer>();
  private readonly scratch: CoreScratch;

  constructor(core: WasmCore, source: CoreModelSource, precision: CorePrecision) {
    this.core = core;
    this.config = source.config;
    this.precision = precision;
    this.lastWeight = source.lastWeight;
    this.scratch = new CoreScratch(core);
    const t = (name: string) => tensor(source.tensors, name);
    const opt = (name: string) => source.tensors.get(name)?.data ?? null;
    const c = this.config;
    if (c.arch === "gru" || c.arch === "lstm") {
      const gates = c.arch === "gru" ? ["r", "z", "n"] : ["i", "f", "g", "o"];
      for (let l = 0; l < c.layers; l++) {
        const p = `${c.arch}.${l}`;
        const lengths = gates.map(() => c.hidden);
        this.pack(
          `${p}.x`,
          gates.map((g) => t(`${p}.w_i${g}`)),
          concatVectors(
            gates.map((g) => opt(c.arch === "gru" ? `${p}.b_i${g}` : `${p}.b_${g}`)),
            lengths,
          ),
        );
        this.pack(
          `${p}.h`,
          gates.map((g) => t(`${p}.w_h${g}`)),
          c.arch === "gru"
            ? concatVectors(
                gates.map((g) => opt(`${p}.b_h${g}`)),
                lengths,
              )
            : null,
        );
      }
    } else {
      this.pack("embed", [t("embed.w")], t("embed.b").data);
      this.vector("embed.pos", t("embed.pos").data);
      for (let l = 0; l < c.layers; l++) {
        const p = `layers.${l}`;
        for (const name of ["ln1.g", "ln1.b", "ln2.g", "ln2.b"]) this.vector(`${p}.${name}`, t(`${p}.${name}`).data);
        for (const m of ["q", "k", "v", "o"]) this.pack(`${p}.attn.${m}`, [t(`${p}.attn.w${m}`)], t(`${p}.attn.b${m}`).data);
        this.pack(`${p}.ffn.w1`, [t(`${p}.ffn.w1`)], t(`${p}.ffn.b1`).data);
        this.pack(`${p}.ffn.w2`, [t(`${p}.ffn.w2`)], t(`${p}.ffn.b2`).data);
      }
      this.vector("final_ln.g", t("final_ln.g").data);
      this.vector("final_ln.b", t("final_ln.b").data);
    }
    this.pack("head", [t("head.w")], t("head.b").data);
  }

  private vector(name: string, data: Float32Array): void {
    this.vectors.set(name, this.core.fromF32(data));
  }

  private pack(name: string, mats: { shape: number[]; data: Float32Array }[], bias: Float32Array | null): void {
    const { data, inDim, outDim } = transposeConcat(mats);
    this.layers.set(name, packLinear(this.core, name, data, inDim, outDim, bias, this.precision));
  }

  /** Bytes of packed weights in core memory. */
  get weightBytes(): number {
    let n = 0;
    for (const l of this.layers.values()) n += linearBytes(l);
    for (const v of this.vectors.values()) n += v.bytes;
    return n;
  }

  /**
   * y [rows, out] = x [rows, in] @ W + b for a packed layer, quantising x per row when INT8. `sameInput`: x is the
   * input of the previous call (same width and kernel), whose quantised codes are still in scratch: skip quantising.
   */
  private linear(name: string, x: CoreBuffer, rows: number, y: CoreBuffer, scratch: CoreScratch, sameInput = false): void {
    runLinear(this.core, this.layers.get(name)!, x, rows, y, scratch, sameInput);
  }

  /** y [rows, out] = the layer's bias (zeros without one): the layer's output for an all-zero input. */
  private fillWithBias(name: string, y: CoreBuffer, rows: number): void {
    const l = this.layers.get(name)!;
    const view = y.f32(rows * l.outDim);
    if (!l.biasHost) view.fill(0);
    else for (let r = 0; r < rows; r++) view.set(l.biasHost, r * l.outDim);
  }

  /** contexts: [batch, context, dim], oldest first → unit predictions [batch, dim] (blend applied). */
  forward(contexts: Float32Array, batch: number, lastWeight = this.lastWeight): Float32Array {
    const { dim, context } = this.config;
    if (contexts.length !== batch * context * dim)
      throw new Error(`contexts hold ${contexts.length} values, expected ${batch} x ${context} x ${dim}`);
    // Reused across calls (forward is synchronous): no allocation per call once the largest batch was seen.
    const scratch = this.scratch;
    const features =
      this.config.arch === "transformer" ? this.transformer(contexts, batch, scratch) : this.recurrent(contexts, batch, scratch);
    const y = scratch.get("y", batch * dim * 4);
    this.linear("head", features.buffer, batch, y, scratch);
    const out = new Float32Array(y.f32(batch * dim));
    const last = (b: number, j: number) => contexts[(b * context + context - 1) * dim + j];
    if (this.config.residual) for (let b = 0; b < batch; b++) for (let j = 0; j < dim; j++) out[b * dim + j] += last(b, j);
    normalizeRows(out, dim);
    const w = lastWeight;
    if (w !== 0) {
      for (let b = 0; b < batch; b++) for (let j = 0; j < dim; j++) out[b * dim + j] = (1 - w) * out[b * dim + j] + w * last(b, j);
      normalizeRows(out, dim);
    }
    return out;
  }

  /** Stacked GRU/LSTM, zero initial state; returns the top layer's last hidden state [batch, hidden]. */
  private recurrent(contexts: Float32Array, batch: number, scratch: CoreScratch): { buffer: CoreBuffer } {
    const c = this.config as Extract<ModelConfig, { arch: "gru" | "lstm" }>;
    const { dim, context: T, hidden: H } = c;
    const G = c.arch === "gru" ? 3 : 4;
    const e = this.core.exports;
    // Time-major input [T, batch, dim] so the rows of step t are contiguous.
    const seqIn = scratch.get("seqIn", T * batch * Math.max(dim, H) * 4);
    const view = seqIn.f32(T * batch * dim);
    for (let b = 0; b < batch; b++)
      for (let t = 0; t < T; t++) view.set(contexts.subarray((b * T + t) * dim, (b * T + t + 1) * dim), (t * batch + b) * dim);
    let input = seqIn;
    const seqOut = scratch.get("seqOut", T * batch * H * 4);
    const xp = scratch.get("xp", T * batch * G * H * 4);
    const hp = scratch.get("hp", batch * G * H * 4);
    const h = scratch.get("h", batch * H * 4);
    const cell = scratch.get("c", batch * H * 4);
    for (let l = 0; l < c.layers; l++) {
      this.linear(`${c.arch}.${l}.x`, input, T * batch, xp, scratch);
      h.f32(batch * H).fill(0);
      cell.f32(batch * H).fill(0);
      for (let t = 0; t < T; t++) {
        // At t = 0 the state is zero, so h @ W_h + b_h is just b_h: skip a fifth of the recurrent products.
        if (t === 0) this.fillWithBias(`${c.arch}.${l}.h`, hp, batch);
        else this.linear(`${c.arch}.${l}.h`, h, batch, hp, scratch);
        const xpt = xp.aligned + t * batch * G * H * 4;
        if (c.arch === "gru") e.gruGates(xpt, hp.aligned, h.aligned, batch, H);
        else e.lstmGates(xpt, hp.aligned, h.aligned, cell.aligned, batch, H);
        seqOut.f32(T * batch * H).set(h.f32(batch * H), t * batch * H);
      }
      // The next layer reads this layer's outputs; copy so seqOut can be reused.
      seqIn.f32(T * batch * H).set(seqOut.f32(T * batch * H));
      input = seqIn;
    }
    return { buffer: h };
  }

  /** Pre-LN Transformer over the context positions; returns final_LN(x at the last position) [batch, width]. */
  private transformer(contexts: Float32Array, batch: number, scratch: CoreScratch): { buffer: CoreBuffer } {
    const c = this.config as Extract<ModelConfig, { arch: "transformer" }>;
    const { context: T, width: W, ffn: F, heads } = c;
    const rows = batch * T;
    const e = this.core.exports;
    const input = scratch.get("in", contexts.byteLength);
    input.f32(contexts.length).set(contexts);
    const x = scratch.get("x", rows * W * 4);
    this.linear("embed", input, rows, x, scratch);
    e.addRowsCyclic(x.aligned, this.vectors.get("embed.pos")!.aligned, rows, T, W);
    const a = scratch.get("a", rows * W * 4);
    const q = scratch.get("q", rows * W * 4);
    const k = scratch.get("k", rows * W * 4);
    const v = scratch.get("v", rows * W * 4);
    const o = scratch.get("o", rows * W * 4);
    const f = scratch.get("f", rows * F * 4);
    const att = scratch.get("att", T * 4);
    const vec = (name: string) => this.vectors.get(name)!.aligned;
    for (let l = 0; l < c.layers; l++) {
      const p = `layers.${l}`;
      e.layerNorm(x.aligned, vec(`${p}.ln1.g`), vec(`${p}.ln1.b`), a.aligned, rows, W);
      this.linear(`${p}.attn.q`, a, rows, q, scratch);
      this.linear(`${p}.attn.k`, a, rows, k, scratch, true);
      this.linear(`${p}.attn.v`, a, rows, v, scratch, true);
      e.attention(q.aligned, k.aligned, v.aligned, o.aligned, batch, T, W, heads, att.aligned);
      this.linear(`${p}.attn.o`, o, rows, a, scratch);
      e.addInPlace(x.aligned, a.aligned, rows * W);
      e.layerNorm(x.aligned, vec(`${p}.ln2.g`), vec(`${p}.ln2.b`), a.aligned, rows, W);
      this.linear(`${p}.ffn.w1`, a, rows, f, scratch);
      e.gelu(f.aligned, rows * F);
      this.linear(`${p}.ffn.w2`, f, rows, a, scratch);
      e.addInPlace(x.aligned, a.aligned, rows * W);
    }
    const last = scratch.get("last", batch * W * 4);
    const xs = x.f32(rows * W);
    const lastView = last.f32(batch * W);
    for (let b = 0; b < batch; b++) lastView.set(xs.subarray((b * T + T - 1) * W, (b * T + T) * W), b * W);
    e.layerNorm(last.aligned, vec("final_ln.g"), vec("final_ln.b"), last.aligned, batch, W);
    return { buffer: last };
  }

  /** Releases the packed weights. */
  dispose(): void {
    for (const l of this.layers.values()) freeLinear(l);
    for (const v of this.vectors.values()) v.free();
    this.layers.clear();
    this.vectors.clear();
    this.scratch.free();
  }
}
