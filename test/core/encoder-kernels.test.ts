// The USE-lite encoder kernels (wasm/assembly/encoder.ts) against the float64 TypeScript reference
// (src/encoders/use-lite-reference.ts), on both core builds.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CoreBuffer, WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { timingSignal } from "../../src/encoders/use-lite-convert.ts";
import { embedTokens, layerNorm, meanPool, relu, selfAttention } from "../../src/encoders/use-lite-reference.ts";
import { maxAbsDiff, random } from "../helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: the encoder kernels are not part of CoreExports (see use-lite-core.ts)
type Kernels = Record<string, (...args: number[]) => any>;

/** Packed texts of these lengths: offsets [seqs + 1]. */
function offsetsOf(lengths: number[]): Int32Array {
  const o = new Int32Array(lengths.length + 1);
  lengths.forEach((n, i) => {
    o[i + 1] = o[i] + n;
  });
  return o;
}

describe.each(["simd", "relaxed"] as const)("USE-lite encoder kernels on core-%s vs the TypeScript reference", (variant) => {
  let core: WasmCore;
  let k: Kernels;
  const bufs: CoreBuffer[] = [];
  const f32 = (data: Float32Array) => {
    const b = core.fromF32(data);
    bufs.push(b);
    return b;
  };
  const i32 = (data: Int32Array) => {
    const b = core.fromI32(data);
    bufs.push(b);
    return b;
  };
  const out = (bytes: number) => {
    const b = core.buffer(bytes);
    bufs.push(b);
    return b;
  };

  beforeAll(async () => {
    core = await loadCore(variant);
    k = core.exports as unknown as Kernels;
  });
  afterEach(() => {
    for (const b of bufs.splice(0)) b.free();
  });

  it("is the build asked for", () => {
    expect(core.relaxed).toBe(variant === "relaxed");
  });

  it("embedTokensF32 = 2 E[id] + timing(position in its text)", () => {
    const [vocab, dim] = [50, 256];
    const E = random(vocab * dim, 1, 0.5);
    const inv = Float32Array.from({ length: dim / 2 }, (_, j) => 10_000 ** (-j / (dim / 2 - 1)));
    const lens = [1, 7, 128];
    const ids = Int32Array.from({ length: lens.reduce((a, b) => a + b) }, (_, i) => (i * 7) % vocab);
    const offsets = offsetsOf(lens);
    const y = out(ids.length * dim * 4);
    k.embedTokensF32(
      i32(ids).aligned,
      i32(offsets).aligned,
      lens.length,
      f32(E.map((v) => 2 * v)).aligned,
      f32(timingSignal(inv)).aligned,
      y.aligned,
      dim,
    );
    const expected = new Float64Array(ids.length * dim);
    for (let s = 0; s < lens.length; s++) {
      const text = Array.from(ids.subarray(offsets[s], offsets[s + 1]));
      expected.set(embedTokens(text, E, inv), offsets[s] * dim);
    }
    expect(maxAbsDiff(y.f32(ids.length * dim), expected)).toBeLessThan(1e-5);
  });

  it("embedTokensI16 = the i16 row times its scale + timing: the f32 values of a table dequantised on the host", () => {
    const [vocab, dim] = [50, 256];
    const q = Int16Array.from({ length: vocab * dim }, (_, i) => ((i * 7919) % 65535) - 32767); // the full i16 range
    const scales = Float32Array.from({ length: vocab }, (_, r) => 1e-4 * (1 + r / 7));
    const inv = Float32Array.from({ length: dim / 2 }, (_, j) => 10_000 ** (-j / (dim / 2 - 1)));
    const timing = timingSignal(inv);
    const lens = [1, 7, 128];
    const ids = Int32Array.from({ length: lens.reduce((a, b) => a + b) }, (_, i) => (i * 7) % vocab);
    const offsets = offsetsOf(lens);
    const codes = out(q.length * 2);
    new Int16Array(core.exports.memory.buffer, codes.aligned, q.length).set(q);
    const y = out(ids.length * dim * 4);
    k.embedTokensI16(
      i32(ids).aligned,
      i32(offsets).aligned,
      lens.length,
      codes.aligned,
      f32(scales).aligned,
      f32(timing).aligned,
      y.aligned,
      dim,
    );
    // The host's way (UseLiteCore before this kernel): an f32 table of q * scale, then embedTokensF32.
    const table = Float32Array.from(q, (c, i) => c * scales[Math.floor(i / dim)]);
    const expected = out(ids.length * dim * 4);
    k.embedTokensF32(i32(ids).aligned, i32(offsets).aligned, lens.length, f32(table).aligned, f32(timing).aligned, expected.aligned, dim);
    expect(Array.from(y.f32(ids.length * dim))).toEqual(Array.from(expected.f32(ids.length * dim)));
  });

  it.each([256, 512])("layerNormEps (dim %i, eps 1e-6)", (dim) => {
    const rows = 9;
    const x = random(rows * dim, 2, 3);
    for (let j = 0; j < dim; j++) x[j] += 40; // a row with a large mean
    const g = random(dim, 3);
    const b = random(dim, 4);
    const y = out(rows * dim * 4);
    k.layerNormEps(f32(x).aligned, f32(g).aligned, f32(b).aligned, y.aligned, rows, dim, 1e-6);
    expect(maxAbsDiff(y.f32(rows * dim), layerNorm(Float64Array.from(x), rows, dim, g, b))).toBeLessThan(2e-5);
  });

  it.each([
    [256, [1, 2, 5, 33]],
    [512, [128, 3, 64]],
  ] as const)("attentionPacked (width %i, 4 heads) within each text of lengths %j", (width, lengths) => {
    const lens: number[] = [...lengths];
    const offsets = offsetsOf(lens);
    const T = offsets[lens.length];
    const qkv = random(T * 3 * width, 5, 2);
    const y = out(T * width * 4);
    const scratch = out(128 * 4);
    k.attentionPacked(f32(qkv).aligned, y.aligned, i32(offsets).aligned, lens.length, width, 4, 1 / Math.sqrt(width / 4), scratch.aligned);
    const expected = new Float64Array(T * width);
    for (let s = 0; s < lens.length; s++) {
      const part = Float64Array.from(qkv.subarray(offsets[s] * 3 * width, offsets[s + 1] * 3 * width));
      expected.set(selfAttention(part, lens[s], width), offsets[s] * width);
    }
    expect(maxAbsDiff(y.f32(T * width), expected)).toBeLessThan(2e-5);
  });

  it("reluInPlace", () => {
    const x = random(64, 6);
    const b = f32(x);
    k.reluInPlace(b.aligned, x.length);
    expect(maxAbsDiff(b.f32(x.length), relu(Float64Array.from(x)))).toBe(0);
  });

  it("meanPoolPacked averages each text's rows", () => {
    const dim = 512;
    const lens = [1, 4, 20];
    const offsets = offsetsOf(lens);
    const h = random(offsets[3] * dim, 7, 3);
    const y = out(lens.length * dim * 4);
    k.meanPoolPacked(f32(h).aligned, i32(offsets).aligned, lens.length, dim, y.aligned);
    lens.forEach((n, s) => {
      const expected = meanPool(Float64Array.from(h.subarray(offsets[s] * dim, offsets[s + 1] * dim)), n);
      expect(maxAbsDiff(y.f32(lens.length * dim).subarray(s * dim, (s + 1) * dim), expected)).toBeLessThan(1e-5);
    });
  });

  it("tanhInPlace", () => {
    const x = random(100, 8, 6);
    const b = f32(x);
    k.tanhInPlace(b.aligned, x.length);
    expect(maxAbsDiff(b.f32(x.length), Array.from(x, Math.tanh))).toBeLessThan(1e-6);
  });

  it("quantizeRowsI16Levels + linearI8Packed equal the exact integer computation at 12-bit activations", () => {
    const [rows, inDim, outDim, levels] = [6, 1536, 24, 4095];
    const x = random(rows * inDim, 9, 5);
    const xq = out(rows * inDim * 2);
    const xs = out(rows * 4);
    k.quantizeRowsI16Levels(f32(x).aligned, rows, inDim, xq.aligned, xs.aligned, levels);
    const codes = new Int16Array(core.exports.memory.buffer, xq.aligned, rows * inDim).slice();
    const scales = xs.f32(rows).slice();
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let i = 0; i < inDim; i++) m = Math.max(m, Math.abs(x[r * inDim + i]));
      expect(scales[r]).toBeCloseTo(m / levels, 9);
      let worst = 0;
      for (let i = 0; i < inDim; i++) worst = Math.max(worst, Math.abs(codes[r * inDim + i] - x[r * inDim + i] / scales[r]));
      expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
    }
    // Worst-case magnitudes: every code +-4095 against weights of +-127 stays exact in i32.
    codes.fill(levels);
    new Int16Array(core.exports.memory.buffer, xq.aligned, rows * inDim).set(codes);
    const wq = new Int8Array(outDim * inDim).fill(127);
    const w = core.fromI8(wq);
    const packed = out(core.exports.packedI8Bytes(outDim, inDim));
    core.exports.packI8(w.aligned, outDim, inDim, packed.aligned);
    w.free();
    const ones = f32(new Float32Array(outDim).fill(1));
    const unit = f32(new Float32Array(rows).fill(1));
    const y = out(rows * outDim * 4);
    core.exports.linearI8Packed(xq.aligned, unit.aligned, packed.aligned, ones.aligned, 0, y.aligned, rows, inDim, outDim);
    expect(Array.from(new Set(y.f32(rows * outDim)))).toEqual([inDim * 127 * levels]);
  });
});
