/**
 * The decoder on the WASM core (runtime-agnostic: the caller brings the WasmCore), in INT8 or f32, with the
 * kernels the LVMs use (src/lvm/runners/core-lvm.ts): matrices packed once as [out, in] rows, INT8 with one scale
 * per output row, laid out for the build's register-blocked kernel; activations quantised per row at run time;
 * gruGates, addInPlace in f32; two kernels of its own for decoding: logSumExpRows and topKRows.
 *
 * The input projection of step t, [embed(token) ; v] @ w_x + b_x, is split into embed(token) @ w_x[:E] (each step)
 * and v @ w_x[E:] + b_x (once per vector: the state's `cond`, [rows, 3H]). The token embedding is kept as INT8 rows
 * with one scale per token, dequantised on lookup.
 *
 * INT8 weights come from quantizeDecoderWeights (model-int8-format.ts): at load for a float32 model, or as stored
 * in an INT8 file (`model.int8`), packed as they are; so both give the same logits, bit for bit.
 */

import { CoreScratch, freeLinear, linearBytes, type PackedLinear, packInt8Linear, packLinear, runLinear } from "../core/packed-linear.ts";
import type { CoreBuffer, WasmCore } from "../core/wasm-core.ts";
import type { DecoderConfig, DecoderModel, Int8Rows } from "./model-format.ts";
import { quantizeDecoderWeights, transposeRows } from "./model-int8-format.ts";
import type { DecoderRunner, DecoderState } from "./runner.ts";

export type DecoderPrecision = "int8" | "f32";

/** Stored INT8 rows (an INT8 file's, or quantised at load) packed for the core as they are. */
const packRows = (core: WasmCore, m: Int8Rows, bias: Float32Array | null): PackedLinear =>
  packInt8Linear(core, m.q, m.scales, m.inDim, m.outDim, bias);

export class CoreDecoder implements DecoderRunner {
  readonly config: DecoderConfig;
  readonly condWidth: number;
  readonly precision: DecoderPrecision;
  private readonly core: WasmCore;
  private readonly layers = new Map<string, PackedLinear>();
  private readonly scratch: CoreScratch;
  /** Token embedding: INT8 rows [V, E] with one scale per row (f32 copy when precision is f32). */
  private readonly embedQ: Int8Array | null;
  private readonly embedScales: Float32Array | null;
  private readonly embedF32: Float32Array | null;

  constructor(core: WasmCore, model: DecoderModel, precision: DecoderPrecision = "int8") {
    this.core = core;
    this.config = model.config;
    this.precision = precision;
    this.scratch = new CoreScratch(core);
    const { vocab: V, dim: D, embed: E, hidden: H } = this.config;
    this.condWidth = 3 * H;
    for (const [name, width] of [
      ["embed", E],
      ["dim", D],
      ["hidden", H],
    ] as const)
      if (width % 16 !== 0) throw new Error(`decoder ${name} width ${width} is not a multiple of 16, which the core's SIMD kernels need`);
    if (precision === "int8") {
      // Stored INT8 weights as they are, or the f32 model's, quantised here the same way.
      const w = model.int8 ?? quantizeDecoderWeights(model);
      const m = w.matrices;
      this.layers.set("cond", packRows(core, m["cond.w"], w.biases["cond.b"]));
      this.layers.set("xe", packRows(core, m["gru.w_x.embed"], null));
      this.layers.set("xv", packRows(core, m["gru.w_x.vector"], w.biases["gru.b_x"]));
      this.layers.set("h", packRows(core, m["gru.w_h"], w.biases["gru.b_h"]));
      this.layers.set("head", packRows(core, m["head.w"], w.biases["head.b"]));
      this.embedQ = m["embed.tokens"].q;
      this.embedScales = m["embed.tokens"].scales;
      this.embedF32 = null;
      return;
    }
    const t = (name: string) => {
      const x = model.tensors.get(name);
      if (!x) throw new Error(`decoder has no tensor '${name}'`);
      return x.data;
    };
    this.pack("cond", transposeRows(t("cond.w"), H, 0, D), D, H, t("cond.b"));
    this.pack("xe", transposeRows(t("gru.w_x"), 3 * H, 0, E), E, 3 * H, null);
    this.pack("xv", transposeRows(t("gru.w_x"), 3 * H, E, E + D), D, 3 * H, t("gru.b_x"));
    this.pack("h", transposeRows(t("gru.w_h"), 3 * H, 0, H), H, 3 * H, t("gru.b_h"));
    this.pack("head", transposeRows(t("head.w"), V, 0, H), H, V, t("head.b"));
    this.embedQ = null;
    this.embedScales = null;
    this.embedF32 = t("embed.tokens").slice();
  }

  private pack(name: string, w: Float32Array, inDim: number, outDim: number, bias: Float32Array | null): void {
    this.layers.set(name, packLinear(this.core, name, w, inDim, outDim, bias, "f32"));
  }

  /** Bytes of the weights as the edge holds them: packed core matrices, scales, biases and the token embedding. */
  get weightBytes(): number {
    let n = 0;
    for (const l of this.layers.values()) n += linearBytes(l);
    n += this.embedQ ? this.embedQ.byteLength + this.embedScales!.byteLength : this.embedF32!.byteLength;
    return n;
  }

  private buf(name: string, bytes: number): CoreBuffer {
    return this.scratch.get(name, bytes);
  }

  /** y [rows, out] = x [rows, in] @ W + b on the core. */
  private linear(name: string, x: CoreBuffer, rows: number, y: CoreBuffer): void {
    runLinear(this.core, this.layers.get(name)!, x, rows, y, this.scratch);
  }

  start(vectors: Float32Array, rows: number): DecoderState {
    const { dim: D, hidden: H } = this.config;
    if (vectors.length < rows * D) throw new Error(`start: ${vectors.length} values for ${rows} vectors of ${D}`);
    const v = this.buf("v", rows * D * 4);
    v.f32(rows * D).set(vectors.subarray(0, rows * D));
    const h0 = this.buf("h0", rows * H * 4);
    this.linear("cond", v, rows, h0);
    const h = Float32Array.from(h0.f32(rows * H), Math.tanh);
    const cond = this.buf("cond", rows * 3 * H * 4);
    this.linear("xv", v, rows, cond);
    return { rows, h, cond: new Float32Array(cond.f32(rows * 3 * H)) };
  }

  step(state: DecoderState, tokens: ArrayLike<number>): Float32Array {
    const { vocab: V, embed: E, hidden: H } = this.config;
    const rows = state.rows;
    const e = this.core.exports;
    const x = this.buf("x", rows * E * 4);
    const xv = x.f32(rows * E);
    for (let r = 0; r < rows; r++) {
      const id = tokens[r];
      if (this.embedQ) {
        const s = this.embedScales![id];
        for (let j = 0; j < E; j++) xv[r * E + j] = this.embedQ[id * E + j] * s;
      } else xv.set(this.embedF32!.subarray(id * E, (id + 1) * E), r * E);
    }
    const xp = this.buf("xp", rows * 3 * H * 4);
    this.linear("xe", x, rows, xp);
    const cond = this.buf("cond", rows * 3 * H * 4);
    cond.f32(rows * 3 * H).set(state.cond.subarray(0, rows * 3 * H));
    e.addInPlace(xp.aligned, cond.aligned, rows * 3 * H);
    const h = this.buf("h", rows * H * 4);
    h.f32(rows * H).set(state.h.subarray(0, rows * H));
    const hp = this.buf("hp", rows * 3 * H * 4);
    this.linear("h", h, rows, hp);
    e.gruGates(xp.aligned, hp.aligned, h.aligned, rows, H);
    state.h.set(h.f32(rows * H));
    const logits = this.buf("logits", rows * V * 4);
    this.linear("head", h, rows, logits);
    return new Float32Array(logits.f32(rows * V));
  }

  /**
   * The rows as decode.ts masked them are copied back into the core (~0.3 us a row, 0.1% of a refined decode); reusing step's buffer
   * instead would tie this call to the step before it.
   */
  logSumExpRows(logits: Float32Array, rows: number): Float32Array {
    const V = this.config.vocab;
    const x = this.buf("logits", rows * V * 4);
    x.f32(rows * V).set(logits.subarray(0, rows * V));
    const out = this.buf("lse", rows * 4);
    this.core.exports.logSumExpRows(x.aligned, rows, V, out.aligned);
    return new Float32Array(out.f32(rows));
  }

  /** The core's topKRows on the rows as decode.ts masked them (copied back in, as logSumExpRows does). */
  topIdsRows(logits: Float32Array, rows: number, k: number): Int32Array {
    const V = this.config.vocab;
    const x = this.buf("logits", rows * V * 4);
    x.f32(rows * V).set(logits.subarray(0, rows * V));
    const out = this.buf("top", rows * k * 4);
    this.core.exports.topKRows(x.aligned, rows, V, k, out.aligned);
    return new Int32Array(out.i32(rows * k));
  }

  dispose(): void {
    for (const l of this.layers.values()) freeLinear(l);
    this.scratch.free();
    this.layers.clear();
  }
}
