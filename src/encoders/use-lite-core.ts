/**
 * USE-lite (512-D) on the WASM core, INT8 or f32 by the weights file it is given (use-lite-core-format.ts).
 * Runtime-agnostic: the caller brings a WasmCore instance and the file's bytes. Texts are tokenized by our
 * SentencePiece tokenizer, clipped to 128 tokens as the graph does, sorted by token count and packed into
 * batches of at most `maxBatchTokens` tokens: a batch's tokens are consecutive rows, so nothing is padding.
 * Every core buffer is allocated once, in the constructor; a call only writes into them.
 *
 * INT8: dense layers run on INT8 weights (per output row, packed once for packed.ts's register-blocked
 * kernel) against activations quantised per row at run time to 12-bit codes (exact i32 accumulation); on
 * a relaxed-SIMD core the FFNs' second layers take 7-bit codes of their relu input on the faster relaxed
 * kernel (see relaxedLayers). The embedding table stays i16 codes with a scale per row in core memory
 * (i16 or i8 in the file; dequantised per token); layer norms, attention, the residual stream, pooling and the
 * tanh head are f32.
 */
import type { CoreBuffer, CoreExports, WasmCore } from "../core/wasm-core.ts";
import type { Encoder } from "./types.ts";
import { UnigramTokenizer } from "./unigram-tokenizer.ts";
import { readUseLiteCoreFile, type UseLiteCorePrecision } from "./use-lite-core-format.ts";
import {
  USE_LITE_DIM,
  USE_LITE_EMBED,
  USE_LITE_FFN,
  USE_LITE_HEADS,
  USE_LITE_ID,
  USE_LITE_LN_EPS,
  USE_LITE_MAX_TOKENS,
  USE_LITE_WIDTH,
} from "./use-lite-weights.ts";

/** The encoder kernels (wasm/assembly/encoder.ts), on top of the LVM core's. */
interface EncoderExports extends CoreExports {
  embedTokensF32(ids: number, offsets: number, seqs: number, table: number, timing: number, out: number, dim: number): void;
  embedTokensI16(ids: number, offsets: number, seqs: number, q: number, scales: number, timing: number, out: number, dim: number): void;
  layerNormEps(x: number, g: number, b: number, y: number, rows: number, dim: number, eps: number): void;
  attentionPacked(
    qkv: number,
    out: number,
    offsets: number,
    seqs: number,
    width: number,
    heads: number,
    scale: number,
    scratch: number,
  ): void;
  reluInPlace(x: number, n: number): void;
  meanPoolPacked(h: number, offsets: number, seqs: number, dim: number, out: number): void;
  tanhInPlace(x: number, n: number): void;
  quantizeRowsI16Levels(x: number, rows: number, n: number, q: number, scales: number, levels: number): void;
}

const ENCODER_KERNELS = [
  "embedTokensF32",
  "embedTokensI16",
  "layerNormEps",
  "attentionPacked",
  "reluInPlace",
  "meanPoolPacked",
  "tanhInPlace",
  "quantizeRowsI16Levels",
  "packI8",
  "linearI8Packed",
];

export interface UseLiteCoreOptions {
  /** Tokens per forward pass (>= 128); the core buffers are sized for it. Default 1024. */
  maxBatchTokens?: number;
  /**
   * INT8: activations are quantised per row to -levels..levels (i16 codes) against the INT8 weights.
   * Default 4095 (12 bits); 127 is plain INT8 x INT8, which misses the 0.999 cosine target on some texts.
   */
  activationLevels?: number;
  /**
   * Dense layers run on the relaxed-SIMD kernel (packed-relaxed.ts, ~1.9x faster) when the core has it.
   * Default: the FFNs' second layers, whose relu input (>= 0) takes 0..127 codes without the u7 shift (7 bits
   * over [0, max]); min cosine to TF.js on a mini-tier sample 0.99941 -> 0.99932. 7-bit activations
   * everywhere would give 0.997.
   */
  relaxedLayers?: readonly string[];
  /**
   * INT8 on a relaxed-SIMD core: also pack every dense layer for the u7 kernel, for embedForRanking (3.1 MB more
   * core memory). Default true.
   */
  ranking?: boolean;
}

interface Linear {
  inDim: number;
  outDim: number;
  w: CoreBuffer;
  scales?: CoreBuffer;
  /** The weights run on the relaxed u7 kernel (packed by packI8U7, wsum64 included). */
  u7?: boolean;
  bias: CoreBuffer;
}

/**
 * UTF-16 units of a text the tokenizer reads at most: tokenizing costs ~4 us and ~0.4 kB of heap per character
 * (a 1 MB text: 3.7 s and 400 MB, past a Worker isolate's 128 MB), and 128 tokens of prose take ~500.
 */
export const USE_LITE_MAX_CHARS = 4096;

/**
 * The beginning of `text` the tokenizer reads: all of it up to USE_LITE_MAX_CHARS, else cut at the last space
 * before the limit, which keeps the first tokens exactly the whole text's (no vocabulary piece spans a space, so
 * the segmentation splits at every space); with no space there, at the limit (never inside a surrogate pair).
 */
export function readableText(text: string): string {
  if (text.length <= USE_LITE_MAX_CHARS) return text;
  const space = text.lastIndexOf(" ", USE_LITE_MAX_CHARS);
  if (space > 0) return text.slice(0, space);
  const high = text.charCodeAt(USE_LITE_MAX_CHARS - 1);
  return text.slice(0, high >= 0xd800 && high <= 0xdbff ? USE_LITE_MAX_CHARS - 1 : USE_LITE_MAX_CHARS);
}

/** Whether USE-lite reads only the beginning of `text`: past USE_LITE_MAX_CHARS characters or 128 tokens. */
export function truncatedByUseLite(tokenizer: UnigramTokenizer, text: string): boolean {
  const head = readableText(text);
  return head.length < text.length || tokenizer.encode(head).length > USE_LITE_MAX_TOKENS;
}

export class UseLiteCore implements Encoder {
  readonly id = USE_LITE_ID;
  readonly dim = USE_LITE_DIM;
  readonly precision: UseLiteCorePrecision;
  readonly maxBatchTokens: number;
  private readonly e: EncoderExports;
  private readonly tokenizer: UnigramTokenizer;
  private readonly levels: number;
  private readonly owned: CoreBuffer[] = [];
  private readonly vectors = new Map<string, CoreBuffer>();
  private readonly linears = new Map<string, Linear>();
  /**
   * embedForRanking's dense layers: every one on the relaxed u7 kernel (INT8 on a relaxed-SIMD core only; else
   * empty, and embedForRanking is embed).
   */
  private readonly rankingLinears = new Map<string, Linear>();
  private readonly buf: Record<
    "ids" | "offsets" | "x" | "h" | "a" | "big" | "att" | "tmp" | "xq" | "xs" | "pool" | "out" | "scores",
    CoreBuffer
  >;
  private disposed = false;

  constructor(core: WasmCore, weightBytes: Uint8Array, options: UseLiteCoreOptions = {}) {
    const missing = ENCODER_KERNELS.filter((k) => typeof (core.exports as unknown as Record<string, unknown>)[k] !== "function");
    if (missing.length > 0) throw new Error(`wasm core lacks the encoder kernels ${missing.join(", ")}: rebuild it with 'npm run build'`);
    this.e = core.exports as EncoderExports;
    this.maxBatchTokens = options.maxBatchTokens ?? 1024;
    if (!Number.isInteger(this.maxBatchTokens) || this.maxBatchTokens < USE_LITE_MAX_TOKENS)
      throw new Error(`maxBatchTokens must be an integer >= ${USE_LITE_MAX_TOKENS}, got ${options.maxBatchTokens}`);
    const file = readUseLiteCoreFile(weightBytes);
    this.precision = file.precision;
    this.levels = options.activationLevels ?? 4095;
    if (!Number.isInteger(this.levels) || this.levels < 1 || this.levels > 4095)
      throw new Error(`activationLevels must be an integer in 1..4095, got ${options.activationLevels}`);
    this.tokenizer = new UnigramTokenizer(file.vocabulary);
    const f32 = (name: string) => file.tensors.get(name)!.data as Float32Array;
    const keep = (b: CoreBuffer) => {
      this.owned.push(b);
      return b;
    };
    const vector = (name: string) => this.vectors.set(name, keep(core.fromF32(f32(name))));
    const relaxed = new Set(options.relaxedLayers ?? ["l0.ffn2", "l1.ffn2"]);
    const x = core.exports;
    const hasU7 = !!x.packI8U7 && !!x.packedI8U7Bytes && !!x.linearI8U7Packed && !!x.quantizeRowsU7;
    const scales = new Map<string, CoreBuffer>();
    const biases = new Map<string, CoreBuffer>();
    const linear = (name: string, into: Map<string, Linear>, u7: boolean) => {
      const t = file.tensors.get(`${name}.w`)!;
      const [outDim, inDim] = t.shape;
      if (!biases.has(name)) biases.set(name, keep(core.fromF32(f32(`${name}.b`))));
      const bias = biases.get(name)!;
      if (t.data instanceof Float32Array) {
        into.set(name, { inDim, outDim, w: keep(core.fromF32(t.data)), bias });
        return;
      }
      // Packed once for the register-blocked kernel (wasm/assembly/packed.ts, packed-relaxed.ts).
      const rowsI8 = core.fromI8(t.data as Int8Array);
      const packed = keep(core.buffer(u7 ? x.packedI8U7Bytes!(outDim, inDim) : x.packedI8Bytes(outDim, inDim)));
      (u7 ? x.packI8U7! : x.packI8)(rowsI8.aligned, outDim, inDim, packed.aligned);
      rowsI8.free();
      // The FFN's second layer reads relu output (>= 0): its codes 0..127 need no +64 shift, so no correction.
      if (u7 && name.endsWith(".ffn2")) {
        const outPad = (outDim + 7) & ~7;
        new Uint8Array(core.exports.memory.buffer, packed.aligned + outPad * inDim, outPad * 4).fill(0);
      }
      if (!scales.has(name)) scales.set(name, keep(core.fromF32(f32(`${name}.w.scale`))));
      into.set(name, { inDim, outDim, w: packed, scales: scales.get(name)!, u7, bias });
    };
    if (file.precision === "int8") {
      // i16 codes in core memory (i16 or i8 in the file) and a scale per row, dequantised per token by
      // embedTokensI16: half the memory of an f32 table, the same values.
      const codes = file.tensors.get("embed")!.data as Int16Array | Int8Array;
      const table = keep(core.buffer(codes.length * 2));
      new Int16Array(core.exports.memory.buffer, table.aligned, codes.length).set(codes);
      this.vectors.set("embed", table);
      vector("embed.scale");
    } else {
      vector("embed");
    }
    vector("timing");
    const layers = ["l0.res", ...[0, 1].flatMap((l) => ["qkv", "out", "ffn1", "ffn2"].map((m) => `l${l}.${m}`)), "tanh"];
    linear("l0.res", this.linears, hasU7 && relaxed.has("l0.res"));
    for (const l of [0, 1]) {
      for (const v of ["ln1.g", "ln1.b", "ln2.g", "ln2.b"]) vector(`l${l}.${v}`);
      for (const m of ["qkv", "out", "ffn1", "ffn2"]) linear(`l${l}.${m}`, this.linears, hasU7 && relaxed.has(`l${l}.${m}`));
    }
    linear("tanh", this.linears, hasU7 && relaxed.has("tanh"));
    const T = this.maxBatchTokens;
    const S = T; // at most one text per token
    const W = USE_LITE_WIDTH;
    const F = USE_LITE_FFN;
    this.buf = {
      ids: keep(core.buffer(T * 4)),
      offsets: keep(core.buffer((S + 1) * 4)),
      x: keep(core.buffer(T * USE_LITE_EMBED * 4)),
      h: keep(core.buffer(T * W * 4)),
      a: keep(core.buffer(T * W * 4)),
      big: keep(core.buffer(T * F * 4)), // qkv [T, 3w] or the FFN's hidden [T, 1536]
      att: keep(core.buffer(T * W * 4)),
      tmp: keep(core.buffer(T * W * 4)),
      xq: keep(core.buffer(T * F * 2)), // i16 codes
      xs: keep(core.buffer(T * 4)),
      pool: keep(core.buffer(S * W * 4)),
      out: keep(core.buffer(S * W * 4)),
      scores: keep(core.buffer(USE_LITE_MAX_TOKENS * 4)),
    };
    // 7-bit activations in every layer for embedForRanking: a second packing of the layers not already u7 (3.1 MB).
    if (file.precision === "int8" && hasU7 && options.ranking !== false)
      for (const name of layers) {
        const exact = this.linears.get(name)!;
        if (exact.u7 || !exact.scales) this.rankingLinears.set(name, exact);
        else linear(name, this.rankingLinears, true);
      }
  }

  /** Bytes of weights held in core memory (embedForRanking's packings included). */
  get weightBytes(): number {
    let n = 0;
    for (const v of this.vectors.values()) n += v.bytes;
    for (const l of this.linears.values()) n += l.w.bytes + l.bias.bytes + (l.scales?.bytes ?? 0);
    // embedForRanking's own packings (bias and scales are shared).
    for (const [name, l] of this.rankingLinears) if (l !== this.linears.get(name)) n += l.w.bytes;
    return n;
  }

  /** Token ids of one text, clipped to the graph's 128; only its readable beginning is tokenized (readableText). */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(readableText(text)).slice(0, USE_LITE_MAX_TOKENS);
  }

  /** Whether the vector is of the text's beginning only: past 128 tokens or USE_LITE_MAX_CHARS characters. */
  truncates(text: string): boolean {
    return truncatedByUseLite(this.tokenizer, text);
  }

  /** Embeds on the calling thread, yielding to the event loop between packed batches of a large call. */
  async embed(texts: readonly string[]): Promise<Float32Array> {
    return this.embedWith(texts, this.linears);
  }

  /**
   * Vectors for comparing texts with one another, faster than embed's: 7-bit activations in every dense layer (the
   * relaxed u7 kernel, ~1.9x the 12-bit kernel's speed); min cosine to TF.js on the mini tier 0.9978, embed's 0.9993
   * (test/encoders/use-lite-core.test.ts). The decoder ranks its candidate texts with them and re-embeds only its
   * answers with embed (src/decoder/refine.ts). Where this instance has no ranking layers (f32, a plain-SIMD core,
   * `ranking: false`), it is embed.
   */
  async embedForRanking(texts: readonly string[]): Promise<Float32Array> {
    return this.embedWith(texts, this.rankingLinears.size > 0 ? this.rankingLinears : this.linears);
  }

  private async embedWith(texts: readonly string[], linears: Map<string, Linear>): Promise<Float32Array> {
    const { out, steps } = this.start(texts, linears);
    for (const _ of steps) await new Promise((resolve) => setTimeout(resolve, 0));
    return out;
  }

  embedSync(texts: readonly string[]): Float32Array {
    const { out, steps } = this.start(texts);
    for (const _ of steps);
    return out;
  }

  /** Rows for texts already tokenized (each 1..128 ids), in input order: [n, 512]. */
  embedTokenized(tokenized: readonly (readonly number[])[]): Float32Array {
    const out = new Float32Array(tokenized.length * USE_LITE_DIM);
    for (const _ of this.batches(tokenized, out));
    return out;
  }

  private start(texts: readonly string[], linears = this.linears): { out: Float32Array; steps: Iterable<void> } {
    if (this.disposed) throw new Error("USE-lite core encoder is disposed");
    const tokenized = texts.map((text, i) => {
      if (typeof text !== "string") throw new Error(`text ${i} is not a string`);
      // A blank text has no meaning to embed (and the graph needs at least one token).
      if (text.trim().length === 0) throw new Error(`text ${i} is empty: nothing to embed`);
      return this.tokenize(text);
    });
    const out = new Float32Array(tokenized.length * USE_LITE_DIM);
    return { out, steps: this.batches(tokenized, out, linears) };
  }

  /**
   * Runs the batches one per step, writing rows into out in input order; yields between batches. Bucketed by
   * length: sorted, then packed greedily up to maxBatchTokens tokens. Each step runs and copies out one whole
   * batch synchronously, so interleaved calls cannot see each other's core buffers.
   */
  private *batches(tokenized: readonly (readonly number[])[], out: Float32Array, linears = this.linears): Generator<void> {
    const order = tokenized.map((_, i) => i).sort((a, b) => tokenized[a].length - tokenized[b].length);
    let b = 0;
    while (b < order.length) {
      // A call still running (between its batches) when the encoder is disposed must not touch freed memory.
      if (this.disposed) throw new Error("USE-lite core encoder was disposed during a call");
      let tokens = 0;
      let e = b;
      while (e < order.length && tokens + tokenized[order[e]].length <= this.maxBatchTokens) tokens += tokenized[order[e++]].length;
      this.forward(
        order.slice(b, e).map((i) => tokenized[i]),
        tokens,
        linears,
      );
      const vectors = this.buf.out.f32((e - b) * USE_LITE_DIM);
      for (let j = b; j < e; j++) out.set(vectors.subarray((j - b) * USE_LITE_DIM, (j - b + 1) * USE_LITE_DIM), order[j] * USE_LITE_DIM);
      b = e;
      if (b < order.length) yield;
    }
  }

  /** y [rows, out] = x [rows, in] @ W^T + b, quantising x per row for INT8 layers. */
  private linear(layers: Map<string, Linear>, name: string, x: CoreBuffer, rows: number, y: CoreBuffer): void {
    const l = layers.get(name)!;
    const e = this.e;
    const { xq, xs } = this.buf;
    if (!l.scales) {
      e.linearF32(x.aligned, l.w.aligned, l.bias.aligned, y.aligned, rows, l.inDim, l.outDim);
    } else if (l.u7) {
      if (name.endsWith(".ffn2")) e.quantizeRows(x.aligned, rows, l.inDim, xq.aligned, xs.aligned);
      else e.quantizeRowsU7!(x.aligned, rows, l.inDim, xq.aligned, xs.aligned);
      e.linearI8U7Packed!(xq.aligned, xs.aligned, l.w.aligned, l.scales.aligned, l.bias.aligned, y.aligned, rows, l.inDim, l.outDim);
    } else {
      e.quantizeRowsI16Levels(x.aligned, rows, l.inDim, xq.aligned, xs.aligned, this.levels);
      e.linearI8Packed(xq.aligned, xs.aligned, l.w.aligned, l.scales.aligned, l.bias.aligned, y.aligned, rows, l.inDim, l.outDim);
    }
  }

  private v(name: string): number {
    return this.vectors.get(name)!.aligned;
  }

  /** One packed batch: texts' ids -> buf.out [texts, 512], unit rows. */
  private forward(texts: readonly (readonly number[])[], tokens: number, linears: Map<string, Linear>): void {
    const e = this.e;
    const { ids, offsets, x, h, pool, out } = this.buf;
    const seqs = texts.length;
    const T = tokens;
    const W = USE_LITE_WIDTH;
    const idView = ids.i32(T);
    const offView = offsets.i32(seqs + 1);
    let t = 0;
    for (const [s, text] of texts.entries()) {
      offView[s] = t;
      for (const id of text) idView[t++] = id;
    }
    offView[seqs] = t;
    // x [T, 256] = 2 E[id] + timing(position)
    if (this.precision === "int8")
      e.embedTokensI16(
        ids.aligned,
        offsets.aligned,
        seqs,
        this.v("embed"),
        this.v("embed.scale"),
        this.v("timing"),
        x.aligned,
        USE_LITE_EMBED,
      );
    else e.embedTokensF32(ids.aligned, offsets.aligned, seqs, this.v("embed"), this.v("timing"), x.aligned, USE_LITE_EMBED);
    // Layer 0 (256 -> 512): h = x Wres + attn(LN(x)) Wout; then h += FFN(LN(h)).
    this.linear(linears, "l0.res", x, T, h);
    this.attentionBlock(linears, 0, x, USE_LITE_EMBED, T, seqs);
    this.ffnBlock(linears, 0, T);
    // Layer 1 (512): h += attn(LN(h)) Wout; h += FFN(LN(h)).
    this.attentionBlock(linears, 1, h, W, T, seqs);
    this.ffnBlock(linears, 1, T);
    // Mean over each text's tokens -> tanh layer -> unit length.
    e.meanPoolPacked(h.aligned, offsets.aligned, seqs, W, pool.aligned);
    this.linear(linears, "tanh", pool, seqs, out);
    e.tanhInPlace(out.aligned, seqs * W);
    e.l2NormalizeRows(out.aligned, seqs, W);
  }

  /** h [T, 512] += attn(LN(input)) @ Wout + bout, input [T, width] (x for layer 0, h itself for layer 1). */
  private attentionBlock(layers: Map<string, Linear>, l: number, input: CoreBuffer, width: number, T: number, seqs: number): void {
    const e = this.e;
    const { offsets, h, a, big, att, tmp, scores } = this.buf;
    e.layerNormEps(input.aligned, this.v(`l${l}.ln1.g`), this.v(`l${l}.ln1.b`), a.aligned, T, width, USE_LITE_LN_EPS);
    this.linear(layers, `l${l}.qkv`, a, T, big); // [T, 3 width]
    e.attentionPacked(
      big.aligned,
      att.aligned,
      offsets.aligned,
      seqs,
      width,
      USE_LITE_HEADS,
      1 / Math.sqrt(width / USE_LITE_HEADS),
      scores.aligned,
    );
    this.linear(layers, `l${l}.out`, att, T, tmp); // [T, 512]
    e.addInPlace(h.aligned, tmp.aligned, T * USE_LITE_WIDTH);
  }

  /** h [T, 512] += relu(LN(h) @ W1 + b1) @ W2 + b2. */
  private ffnBlock(layers: Map<string, Linear>, l: number, T: number): void {
    const e = this.e;
    const { h, a, big, tmp } = this.buf;
    e.layerNormEps(h.aligned, this.v(`l${l}.ln2.g`), this.v(`l${l}.ln2.b`), a.aligned, T, USE_LITE_WIDTH, USE_LITE_LN_EPS);
    this.linear(layers, `l${l}.ffn1`, a, T, big); // [T, 1536]
    e.reluInPlace(big.aligned, T * USE_LITE_FFN);
    this.linear(layers, `l${l}.ffn2`, big, T, tmp); // [T, 512]
    e.addInPlace(h.aligned, tmp.aligned, T * USE_LITE_WIDTH);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.owned) b.free();
  }
}

/** The Encoder for a core and a weights file (INT8 or f32, as the file says). */
export function createUseLiteCoreEncoder(core: WasmCore, weightBytes: Uint8Array, options?: UseLiteCoreOptions): UseLiteCore {
  return new UseLiteCore(core, weightBytes, options);
}
