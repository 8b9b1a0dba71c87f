/**
 * LVM -> ONNX (opset 17), built from the reference representation (src/lvm/model-format.ts) and exact to
 * the equations of src/lvm/reference.ts.
 *
 * Graph: input `contexts` float32 [batch, context, dim] (batch dynamic), output `next` float32 [batch, dim].
 *
 * f32 (default): GRU and LSTM layers are the ONNX GRU / LSTM operators with the gates reordered to ONNX's
 *   layouts (GRU z,r,h with linear_before_reset=1, which is PyTorch's GRU; LSTM i,o,f,c with the bias in Wb and
 *   zeros in Rb); `unrolled: true` writes the same cells as MatMul/Add/Sigmoid/Tanh/Mul over the 5 steps
 *   instead. The Transformer uses MatMul, LayerNormalization, Softmax and the tanh GELU written out.
 * int8: every dense layer (recurrent cells unrolled) has INT8 weights [in, out] with one symmetric scale per output
 *   column (per-channel, computed at export) and INT8 activations quantised at run time, multiplied in
 *   MatMulInteger (-> int32), then Cast and rescaled:
 *   - activations "tensor" (default): DynamicQuantizeLinear (asymmetric UINT8, one scale per call), the pattern
 *     onnxruntime fuses into its DynamicQuantizeMatMul kernel; the scale is shared by the batch, so a row's result
 *     depends slightly on its batch mates;
 *   - activations "row": symmetric INT8 per row, s_x = max|row| / 127 (the core's scheme, batch-independent), written
 *     out with ReduceMax/Div/Round and stored as UINT8 with zero point 128 (MLAS's fast UINT8 x INT8 path): a row's
 *     result does not depend on its batch mates, which the server's micro-batching needs.
 *   Attention products, LayerNorm, gates, the head's normalisation and the blend stay float32.
 * f16 (for GPUs): the same graph as f32 computed in float16 (weights, constants and activations), with the
 *   input cast to float16 at the start and the head's output cast back to float32; the residual, the blend and
 *   the normalisation run in float32 (on the float32 input), so the output stays float32 [batch, dim].
 */
import type { ModelConfig, RecurrentConfig, TensorMap, TransformerConfig } from "../model-format.ts";
import { GraphBuilder } from "./graph.ts";
import { DataType } from "./proto.ts";

export interface OnnxSource {
  config: ModelConfig;
  tensors: TensorMap;
  /** Weight of the last context in the output blend (0 = none). */
  lastWeight: number;
}

export interface ExportOptions {
  int8?: boolean;
  /** Compute in float16 (see the file comment); not with int8. */
  f16?: boolean;
  /** f32 recurrent layers as unrolled MatMul cells instead of the ONNX GRU/LSTM operators. */
  unrolled?: boolean;
  /**
   * INT8 activations: "tensor" (default) = DynamicQuantizeLinear, one asymmetric UINT8 scale per call, the form
   * onnxruntime fuses and runs fast; "row" = symmetric INT8 per row (the core's scheme, batch-independent) written
   * out with ReduceMax/Div/Round, as separate nodes (1.2-2x the time of "tensor" on onnxruntime-node here).
   */
  int8Activations?: "tensor" | "row";
}

export const INPUT_NAME = "contexts";
export const OUTPUT_NAME = "next";

function get(tensors: TensorMap, name: string): { shape: number[]; data: Float32Array } {
  const t = tensors.get(name);
  if (!t) throw new Error(`model has no tensor '${name}'`);
  return t;
}

/** [in, out] matrices concatenated along out. */
function concatColumns(mats: { shape: number[]; data: Float32Array }[]): { data: Float32Array; rows: number; cols: number } {
  const rows = mats[0].shape[0];
  const cols = mats.reduce((n, m) => n + m.shape[1], 0);
  const data = new Float32Array(rows * cols);
  let c0 = 0;
  for (const m of mats) {
    if (m.shape[0] !== rows) throw new Error("cannot concatenate matrices of different input widths");
    const w = m.shape[1];
    for (let r = 0; r < rows; r++) data.set(m.data.subarray(r * w, (r + 1) * w), r * cols + c0);
    c0 += w;
  }
  return { data, rows, cols };
}

/** [in, out] matrices, each transposed to [out, in] and stacked: ONNX RNN weights [1, sum(out), in]. */
function stackTransposed(mats: { shape: number[]; data: Float32Array }[]): Float32Array {
  const inDim = mats[0].shape[0];
  const total = mats.reduce((n, m) => n + m.shape[1], 0);
  const out = new Float32Array(total * inDim);
  let o0 = 0;
  for (const m of mats) {
    const cols = m.shape[1];
    for (let i = 0; i < inDim; i++) for (let o = 0; o < cols; o++) out[(o0 + o) * inDim + i] = m.data[i * cols + o];
    o0 += cols;
  }
  return out;
}

function concatVectors(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Symmetric per-output-column INT8 of a [in, out] matrix: W ~= q * scales[col]. */
export function quantizeColumns(w: Float32Array, inDim: number, outDim: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(outDim);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) scales[o] = Math.max(scales[o], Math.abs(w[i * outDim + o]));
  for (let o = 0; o < outDim; o++) scales[o] = scales[o] > 0 ? scales[o] / 127 : 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) q[i * outDim + o] = Math.round(w[i * outDim + o] / scales[o]);
  return { q, scales };
}

class LvmGraph {
  readonly g = new GraphBuilder();
  readonly tensors: TensorMap;
  readonly int8: boolean;
  readonly int8Activations: "tensor" | "row";
  /** Initializer names of each dense layer, so unrolled steps share one copy of the weights. */
  private readonly weights = new Map<string, { w: string; ws?: string; b?: string }>();

  constructor(tensors: TensorMap, int8: boolean, int8Activations: "tensor" | "row") {
    this.tensors = tensors;
    this.int8 = int8;
    this.int8Activations = int8Activations;
  }

  /** y = x @ W + b over the last axis of x (any rank); W [in, out] (gates already concatenated), b optional. */
  linear(x: string, name: string, w: { data: Float32Array; rows: number; cols: number }, b: Float32Array | null): string {
    let names = this.weights.get(name);
    if (!names) {
      if (this.int8) {
        const { q, scales } = quantizeColumns(w.data, w.rows, w.cols);
        names = { w: this.g.i8(`${name}.wq`, q, [w.rows, w.cols]), ws: this.g.f32(`${name}.ws`, scales) };
      } else {
        names = { w: this.g.f32(`${name}.w`, w.data, [w.rows, w.cols]) };
      }
      if (b) names.b = this.g.f32(`${name}.b`, b);
      this.weights.set(name, names);
    }
    let y: string;
    if (!this.int8) {
      y = this.g.op("MatMul", [x, names.w]);
    } else {
      const g = this.g;
      if (this.int8Activations === "row") {
        // Per-row symmetric INT8 activations (the core's scheme); a zero row gets a tiny scale and quantises to zeros.
        // Stored as UINT8 q + 128 with zero point 128 (the same integer products): onnxruntime's MLAS has its fast
        // kernels (AVX-512 VNNI, ARM dot) for UINT8 x INT8, while INT8 x INT8 took ~30x longer at batch 1.
        const absMax = g.op("ReduceMax", [g.op("Abs", [x])], { axes: [-1], keepdims: 1 });
        const sx = g.op("Max", [g.op("Div", [absMax, g.scalar(127)]), g.scalar(1e-30)]);
        const shifted = g.op("Add", [g.op("Round", [g.op("Div", [x, sx])]), g.scalar(128)]);
        const xq = g.op("Cast", [shifted], { to: DataType.UINT8 });
        const zero = g.tensor(`${name}.xzp${this.g.initializers.length}`, DataType.UINT8, [], new Uint8Array([128]));
        const acc = g.op("Cast", [g.op("MatMulInteger", [xq, names.w, zero])], { to: DataType.FLOAT });
        y = g.op("Mul", [g.op("Mul", [acc, sx]), names.ws!]);
      } else {
        // onnxruntime's dynamic-quantisation pattern (per-tensor asymmetric UINT8 activations), which it fuses into
        // one DynamicQuantizeMatMul kernel: DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(a_scale * b_scale).
        const [xq, sx, zx] = g.opN("DynamicQuantizeLinear", [x], 3);
        const acc = g.op("Cast", [g.op("MatMulInteger", [xq, names.w, zx])], { to: DataType.FLOAT });
        y = g.op("Mul", [acc, g.op("Mul", [sx, names.ws!])]);
      }
    }
    return names.b ? this.g.op("Add", [y, names.b]) : y;
  }

  matrix(name: string) {
    const t = get(this.tensors, name);
    return { data: t.data, rows: t.shape[0], cols: t.shape[1] };
  }

  vector(name: string): Float32Array {
    return get(this.tensors, name).data;
  }

  /** `last`: the last context [batch, dim]. */
  lastContext(contexts: string, config: ModelConfig): string {
    return this.g.op("Gather", [contexts, this.g.i64([config.context - 1], [])], { axis: 1 });
  }

  l2Normalize(x: string): string {
    const norm = this.g.op("ReduceL2", [x], { axes: [-1], keepdims: 1 });
    return this.g.op("Div", [x, this.g.op("Max", [norm, this.g.scalar(1e-30)])]);
  }

  /** `x` cast to the element type `to` (a DataType code). */
  cast(x: string, to: number): string {
    return this.g.op("Cast", [x], { to });
  }

  /** Splits [.., n * hidden] into n [.., hidden] along the last axis. */
  split(x: string, n: number, hidden: number): string[] {
    return this.g.opN("Split", [x, this.g.i64(Array(n).fill(hidden))], n, { axis: -1 });
  }

  recurrentFused(contexts: string, c: RecurrentConfig): string {
    const g = this.g;
    let seq = g.op("Transpose", [contexts], { perm: [1, 0, 2] }); // [context, batch, dim]
    let last = "";
    for (let l = 0; l < c.layers; l++) {
      const p = (n: string) => get(this.tensors, `${c.arch}.${l}.${n}`);
      let outs: string[];
      if (c.arch === "gru") {
        // ONNX GRU gate order z, r, h; B = [Wb_z, Wb_r, Wb_h, Rb_z, Rb_r, Rb_h].
        const order = ["z", "r", "n"];
        const w = g.f32(`gru.${l}.W`, stackTransposed(order.map((k) => p(`w_i${k}`))), [1, 3 * c.hidden, l === 0 ? c.dim : c.hidden]);
        const r = g.f32(`gru.${l}.R`, stackTransposed(order.map((k) => p(`w_h${k}`))), [1, 3 * c.hidden, c.hidden]);
        const b = g.f32(`gru.${l}.B`, concatVectors([...order.map((k) => p(`b_i${k}`).data), ...order.map((k) => p(`b_h${k}`).data)]), [
          1,
          6 * c.hidden,
        ]);
        outs = g.opN("GRU", [seq, w, r, b], 2, { hidden_size: c.hidden, linear_before_reset: 1 });
      } else {
        // ONNX LSTM gate order i, o, f, c(=g); B = [Wb_iofc, Rb_iofc] with the single PyTorch-style bias in Wb.
        const order = ["i", "o", "f", "g"];
        const w = g.f32(`lstm.${l}.W`, stackTransposed(order.map((k) => p(`w_i${k}`))), [1, 4 * c.hidden, l === 0 ? c.dim : c.hidden]);
        const r = g.f32(`lstm.${l}.R`, stackTransposed(order.map((k) => p(`w_h${k}`))), [1, 4 * c.hidden, c.hidden]);
        const b = g.f32(`lstm.${l}.B`, concatVectors([...order.map((k) => p(`b_${k}`).data), new Float32Array(4 * c.hidden)]), [
          1,
          8 * c.hidden,
        ]);
        outs = g.opN("LSTM", [seq, w, r, b], 2, { hidden_size: c.hidden });
      }
      // Y [context, 1, batch, hidden] -> next layer's input; Y_h [1, batch, hidden] -> the last state.
      seq = g.op("Squeeze", [outs[0], g.i64([1])]);
      last = g.op("Squeeze", [outs[1], g.i64([0])]);
    }
    return last;
  }

  recurrentUnrolled(contexts: string, c: RecurrentConfig): string {
    const g = this.g;
    const H = c.hidden;
    const gates = c.arch === "gru" ? ["r", "z", "n"] : ["i", "f", "g", "o"];
    let seq = contexts; // [batch, context, input]
    let h = "";
    for (let l = 0; l < c.layers; l++) {
      const p = (n: string) => get(this.tensors, `${c.arch}.${l}.${n}`);
      const wi = concatColumns(gates.map((k) => p(`w_i${k}`)));
      const wh = concatColumns(gates.map((k) => p(`w_h${k}`)));
      const bi = concatVectors(gates.map((k) => p(c.arch === "gru" ? `b_i${k}` : `b_${k}`).data));
      const bh = c.arch === "gru" ? concatVectors(gates.map((k) => p(`b_h${k}`).data)) : null;
      // Input projections of all steps at once: [batch, context, gates * hidden].
      const xAll = this.linear(seq, `${c.arch}.${l}.x`, wi, bi);
      const whName = `${c.arch}.${l}.h`;
      const outputs: string[] = [];
      let cell = "";
      h = "";
      for (let t = 0; t < c.context; t++) {
        const xt = g.op("Gather", [xAll, g.i64([t], [])], { axis: 1 });
        if (c.arch === "gru") {
          // t = 0: h = 0, so h @ W_h + b_h = b_h.
          const xs = this.split(xt, 3, H);
          const hs =
            t === 0 ? gates.map((k) => g.f32(`gru.${l}.b_h${k}`, p(`b_h${k}`).data)) : this.split(this.linear(h, whName, wh, bh!), 3, H);
          const r = g.op("Sigmoid", [g.op("Add", [xs[0], hs[0]])]);
          const z = g.op("Sigmoid", [g.op("Add", [xs[1], hs[1]])]);
          const n = g.op("Tanh", [g.op("Add", [xs[2], g.op("Mul", [r, hs[2]])])]);
          // h' = (1 - z) n + z h = n + z (h - n)
          h = t === 0 ? g.op("Sub", [n, g.op("Mul", [z, n])]) : g.op("Add", [n, g.op("Mul", [z, g.op("Sub", [h, n])])]);
        } else {
          const pre = this.split(t === 0 ? xt : g.op("Add", [xt, this.linear(h, whName, wh, null)]), 4, H);
          const i = g.op("Sigmoid", [pre[0]]);
          const f = g.op("Sigmoid", [pre[1]]);
          const gg = g.op("Tanh", [pre[2]]);
          const o = g.op("Sigmoid", [pre[3]]);
          cell = t === 0 ? g.op("Mul", [i, gg]) : g.op("Add", [g.op("Mul", [f, cell]), g.op("Mul", [i, gg])]);
          h = g.op("Mul", [o, g.op("Tanh", [cell])]);
        }
        outputs.push(h);
      }
      if (l + 1 < c.layers)
        seq = g.op(
          "Concat",
          outputs.map((o) => g.op("Unsqueeze", [o, g.i64([1])])),
          { axis: 1 },
        );
    }
    return h;
  }

  layerNorm(x: string, prefix: string): string {
    return this.g.op(
      "LayerNormalization",
      [x, this.g.f32(`${prefix}.g`, this.vector(`${prefix}.g`)), this.g.f32(`${prefix}.b`, this.vector(`${prefix}.b`))],
      {
        axis: -1,
        epsilon: { float: 1e-5 },
      },
    );
  }

  dense(x: string, w: string, b: string): string {
    return this.linear(x, w, this.matrix(w), this.vector(b));
  }

  transformer(contexts: string, c: TransformerConfig): string {
    const g = this.g;
    const dh = c.width / c.heads;
    let x = g.op("Add", [this.dense(contexts, "embed.w", "embed.b"), g.f32("embed.pos", this.vector("embed.pos"), [c.context, c.width])]);
    const headsShape = g.i64([0, 0, c.heads, dh]);
    const mergeShape = g.i64([0, 0, c.width]);
    for (let l = 0; l < c.layers; l++) {
      const p = `layers.${l}`;
      const a = this.layerNorm(x, `${p}.ln1`);
      const heads = (w: string, b: string, perm: number[]) =>
        g.op("Transpose", [g.op("Reshape", [this.dense(a, `${p}.attn.${w}`, `${p}.attn.${b}`), headsShape])], { perm });
      const q = heads("wq", "bq", [0, 2, 1, 3]); // [batch, heads, context, dh]
      const kT = heads("wk", "bk", [0, 2, 3, 1]); // [batch, heads, dh, context]
      const v = heads("wv", "bv", [0, 2, 1, 3]);
      const scores = g.op("Mul", [g.op("MatMul", [q, kT]), g.scalar(1 / Math.sqrt(dh))]);
      const o = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]);
      const merged = g.op("Reshape", [g.op("Transpose", [o], { perm: [0, 2, 1, 3] }), mergeShape]);
      x = g.op("Add", [x, this.dense(merged, `${p}.attn.wo`, `${p}.attn.bo`)]);
      const u = this.dense(this.layerNorm(x, `${p}.ln2`), `${p}.ffn.w1`, `${p}.ffn.b1`);
      // GELU, tanh approximation: 0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3))).
      const u3 = g.op("Mul", [g.op("Mul", [u, u]), u]);
      const inner = g.op("Mul", [g.op("Add", [u, g.op("Mul", [u3, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
      const gelu = g.op("Mul", [g.op("Mul", [u, g.scalar(0.5)]), g.op("Add", [g.op("Tanh", [inner]), g.scalar(1)])]);
      x = g.op("Add", [x, this.dense(gelu, `${p}.ffn.w2`, `${p}.ffn.b2`)]);
    }
    const lastPos = g.op("Gather", [x, g.i64([c.context - 1], [])], { axis: 1 });
    return this.layerNorm(lastPos, "final_ln");
  }
}

/** The ONNX model bytes of an LVM (see the file comment for the graph). */
export function exportOnnx(model: OnnxSource, options: ExportOptions = {}): Uint8Array {
  const { config } = model;
  const int8 = options.int8 === true;
  const f16 = options.f16 === true;
  if (int8 && f16) throw new Error("exportOnnx: int8 and f16 are exclusive");
  const b = new LvmGraph(model.tensors, int8, options.int8Activations ?? "tensor");
  const g = b.g;
  // f16: everything up to the head's output in float16, from a float16 copy of the input.
  if (f16) g.floatType = DataType.FLOAT16;
  const contexts = f16 ? b.cast(INPUT_NAME, DataType.FLOAT16) : INPUT_NAME;
  const features =
    config.arch === "transformer"
      ? b.transformer(contexts, config)
      : int8 || options.unrolled
        ? b.recurrentUnrolled(contexts, config)
        : b.recurrentFused(contexts, config);
  let y = b.dense(features, "head.w", "head.b");
  if (f16) {
    g.floatType = DataType.FLOAT;
    y = b.cast(y, DataType.FLOAT);
  }
  const last = config.residual || model.lastWeight !== 0 ? b.lastContext(INPUT_NAME, config) : "";
  if (config.residual) y = g.op("Add", [y, last]);
  const w = model.lastWeight;
  if (w === 0) {
    b.l2Normalize(y);
    // Rename the final value to the graph output.
    g.nodes[g.nodes.length - 1].output = [OUTPUT_NAME];
  } else {
    const pred = b.l2Normalize(y);
    const mixed = g.op("Add", [g.op("Mul", [pred, g.scalar(1 - w)]), g.op("Mul", [last, g.scalar(w)])]);
    const norm = g.op("ReduceL2", [mixed], { axes: [-1], keepdims: 1 });
    g.op("Div", [mixed, g.op("Max", [norm, g.scalar(1e-30)])], {}, OUTPUT_NAME);
  }
  const precision = int8 ? "int8" : f16 ? "f16" : "f32";
  const described = { int8: "INT8 weights, dynamic INT8 activations", f16: "float16 compute, float32 input and output", f32: "float32" };
  return g.encode({
    name: `lvm-${config.arch}${precision === "f32" ? "" : `-${precision}`}`,
    docString: `lvm-edge ${config.arch} LVM (${described[precision]}): contexts [batch, ${config.context}, ${config.dim}] -> unit next-concept vector [batch, ${config.dim}]`,
    metadata: { config: JSON.stringify(config), lastWeight: String(w), precision },
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, shape: ["batch", config.context, config.dim] }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, shape: ["batch", config.dim] }],
  });
}
