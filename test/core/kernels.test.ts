import { beforeAll, describe, expect, it } from "vitest";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { topIds } from "../../src/decoder/decode.ts";
import { gelu, layerNorm, sigmoid } from "../../src/lvm/reference.ts";
import { quantizeRows } from "../../src/store/quantize.ts";
import { maxAbsDiff, random } from "../helpers.ts";

let core: WasmCore;
beforeAll(async () => {
  core = await loadCore();
});

/** Reference y = x @ W^T + b for W stored [out, in]. */
function linearOutIn(x: Float32Array, w: Float32Array, b: Float32Array | null, rows: number, inDim: number, outDim: number): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

const PACKED_SHAPES: [number, number, number][] = [
  [1, 16, 4],
  [1, 32, 24],
  [2, 20, 7],
  [3, 48, 9],
  [4, 16, 8],
  [4, 36, 16],
  [5, 64, 13],
  [7, 32, 17],
  [9, 12, 40],
  [32, 512, 96],
];

interface Int8Case {
  /** Activation codes as the kernel sees them after removing any shift (-127..127, or -63..63 for u7). */
  xq: Int16Array;
  wq: Int8Array;
  xs: Float32Array;
  ws: Float32Array;
  b: Float32Array;
}

function int8Case(rows: number, inDim: number, outDim: number, seed: number, xLevels = 127): Int8Case {
  return {
    xq: Int16Array.from(random(rows * inDim, 50 + seed), (v) => Math.round(v * xLevels)),
    wq: Int8Array.from(random(outDim * inDim, 51 + seed), (v) => Math.round(v * 127)),
    xs: random(rows, 52 + seed, 0.01).map(Math.abs),
    ws: random(outDim, 53 + seed, 0.01).map(Math.abs),
    b: random(outDim, 54 + seed),
  };
}

/** The exact integer dot per output, then the kernels' f32 steps in their order: dot * xs * ws + b. */
function exactInt8(t: Int8Case, rows: number, inDim: number, outDim: number, withBias: boolean): Float32Array {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let dot = 0;
      for (let i = 0; i < inDim; i++) dot += t.xq[r * inDim + i] * t.wq[o * inDim + i];
      const v = Math.fround(Math.fround(Math.fround(dot) * t.xs[r]) * t.ws[o]);
      y[r * outDim + o] = withBias ? Math.fround(v + t.b[o]) : v;
    }
  }
  return y;
}

function linearI8PackedCase(core: WasmCore, rows: number, inDim: number, outDim: number): void {
  const t = int8Case(rows, inDim, outDim, 0);
  const xb = core.buffer(rows * inDim * 2);
  new Int16Array(core.exports.memory.buffer, xb.aligned, rows * inDim).set(t.xq);
  const packed = core.buffer(core.exports.packedI8Bytes(outDim, inDim));
  expect(packed.bytes).toBe(Math.ceil(outDim / 8) * 8 * inDim);
  const [wqb, xsb, wsb, bb, yb] = [
    core.fromI8(t.wq),
    core.fromF32(t.xs),
    core.fromF32(t.ws),
    core.fromF32(t.b),
    core.buffer(rows * outDim * 4 + 64),
  ];
  core.exports.packI8(wqb.aligned, outDim, inDim, packed.aligned);
  for (const bias of [bb, null]) {
    yb.f32().fill(-7);
    core.exports.linearI8Packed(xb.aligned, xsb.aligned, packed.aligned, wsb.aligned, bias?.aligned ?? 0, yb.aligned, rows, inDim, outDim);
    expect(Array.from(yb.f32(rows * outDim))).toEqual(Array.from(exactInt8(t, rows, inDim, outDim, bias !== null)));
    // Nothing written past the output.
    expect(Array.from(yb.f32().subarray(rows * outDim))).toEqual(new Array(16).fill(-7));
  }
  for (const buf of [xb, packed, wqb, xsb, wsb, bb, yb]) buf.free();
}

describe("core kernels vs TypeScript references", () => {
  it.each([
    [1, 16, 4],
    [2, 32, 8],
    [3, 48, 7],
    [32, 512, 96],
    [5, 64, 1],
  ])("linearF32 rows=%i in=%i out=%i within 1e-4", (rows, inDim, outDim) => {
    const x = random(rows * inDim, 1);
    const w = random(outDim * inDim, 2, 0.2);
    const b = random(outDim, 3);
    for (const bias of [b, null]) {
      const [xb, wb, yb] = [core.fromF32(x), core.fromF32(w), core.buffer(rows * outDim * 4)];
      const bb = bias ? core.fromF32(bias) : null;
      core.exports.linearF32(xb.aligned, wb.aligned, bb?.aligned ?? 0, yb.aligned, rows, inDim, outDim);
      expect(maxAbsDiff(yb.f32(rows * outDim), linearOutIn(x, w, bias, rows, inDim, outDim))).toBeLessThan(1e-4);
      for (const buf of [xb, wb, yb, bb]) buf?.free();
    }
  });

  it("quantizeRows gives the store's per-row INT8 codes and scales", () => {
    const rows = 7;
    const n = 64;
    const x = random(rows * n, 4);
    const [xb, qb, sb] = [core.fromF32(x), core.buffer(rows * n), core.buffer(rows * 4)];
    core.exports.quantizeRows(xb.aligned, rows, n, qb.aligned, sb.aligned);
    const expected = quantizeRows(x, n);
    // Rounding of exact .5 ties may differ (nearest-even vs half-up): at most one step.
    expect(maxAbsDiff(qb.i8(rows * n), expected.codes)).toBeLessThanOrEqual(1);
    expect(maxAbsDiff(sb.f32(rows), expected.scales)).toBeLessThan(1e-9);
  });

  it.each([
    [1, 16, 4],
    [3, 48, 7],
    [32, 512, 96],
  ])("linearI8 rows=%i in=%i out=%i equals the exact integer computation", (rows, inDim, outDim) => {
    const xq = Int8Array.from(random(rows * inDim, 5), (v) => Math.round(v * 127));
    const wq = Int8Array.from(random(outDim * inDim, 6), (v) => Math.round(v * 127));
    const xs = random(rows, 7, 0.01).map(Math.abs);
    const ws = random(outDim, 8, 0.01).map(Math.abs);
    const b = random(outDim, 9);
    const bufs = [core.fromI8(xq), core.fromF32(xs), core.fromI8(wq), core.fromF32(ws), core.fromF32(b), core.buffer(rows * outDim * 4)];
    const [xqb, xsb, wqb, wsb, bb, yb] = bufs;
    core.exports.linearI8(xqb.aligned, xsb.aligned, wqb.aligned, wsb.aligned, bb.aligned, yb.aligned, rows, inDim, outDim);
    const expected = new Float32Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let dot = 0;
        for (let i = 0; i < inDim; i++) dot += xq[r * inDim + i] * wq[o * inDim + i];
        expected[r * outDim + o] = xs[r] * ws[o] * dot + b[o];
      }
    }
    expect(maxAbsDiff(yb.f32(rows * outDim), expected)).toBeLessThan(1e-4);
    for (const buf of bufs) buf.free();
  });

  it("quantize + linearI8 approximates the f32 layer (relative error < 2%)", () => {
    const [rows, inDim, outDim] = [8, 512, 64];
    const x = random(rows * inDim, 10);
    const w = random(outDim * inDim, 11, 0.05);
    const exact = linearOutIn(x, w, null, rows, inDim, outDim);
    const wq = new Int8Array(w.length);
    const ws = new Float32Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let m = 0;
      for (let i = 0; i < inDim; i++) m = Math.max(m, Math.abs(w[o * inDim + i]));
      ws[o] = m / 127;
      for (let i = 0; i < inDim; i++) wq[o * inDim + i] = Math.round(w[o * inDim + i] / ws[o]);
    }
    const bufs = [
      core.fromF32(x),
      core.buffer(rows * inDim),
      core.buffer(rows * 4),
      core.fromI8(wq),
      core.fromF32(ws),
      core.buffer(rows * outDim * 4),
    ];
    const [xb, xqb, xsb, wqb, wsb, yb] = bufs;
    core.exports.quantizeRows(xb.aligned, rows, inDim, xqb.aligned, xsb.aligned);
    core.exports.linearI8(xqb.aligned, xsb.aligned, wqb.aligned, wsb.aligned, 0, yb.aligned, rows, inDim, outDim);
    const y = yb.f32(rows * outDim);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < y.length; i++) {
      err += (y[i] - exact[i]) ** 2;
      norm += exact[i] ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.02);
    for (const buf of bufs) buf.free();
  });

  it("gruGates and lstmGates follow the PyTorch equations", () => {
    const [batch, H] = [3, 20]; // H a multiple of 4, as the kernels need
    const xp3 = random(batch * 3 * H, 12, 2);
    const hp3 = random(batch * 3 * H, 13, 2);
    const h0 = random(batch * H, 14);
    const hb = core.fromF32(h0);
    const [xb, hpb] = [core.fromF32(xp3), core.fromF32(hp3)];
    core.exports.gruGates(xb.aligned, hpb.aligned, hb.aligned, batch, H);
    const gru = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < H; j++) {
        const at = (a: Float32Array, g: number) => a[b * 3 * H + g * H + j];
        const r = sigmoid(at(xp3, 0) + at(hp3, 0));
        const z = sigmoid(at(xp3, 1) + at(hp3, 1));
        const n = Math.tanh(at(xp3, 2) + r * at(hp3, 2));
        gru[b * H + j] = (1 - z) * n + z * h0[b * H + j];
      }
    }
    expect(maxAbsDiff(hb.f32(batch * H), gru)).toBeLessThan(1e-5);

    const xp4 = random(batch * 4 * H, 15, 2);
    const hp4 = random(batch * 4 * H, 16, 2);
    const c0 = random(batch * H, 17);
    const [x4, h4, hh, cc] = [core.fromF32(xp4), core.fromF32(hp4), core.fromF32(h0), core.fromF32(c0)];
    core.exports.lstmGates(x4.aligned, h4.aligned, hh.aligned, cc.aligned, batch, H);
    const hExp = new Float32Array(batch * H);
    const cExp = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < H; j++) {
        const g = (k: number) => xp4[b * 4 * H + k * H + j] + hp4[b * 4 * H + k * H + j];
        cExp[b * H + j] = sigmoid(g(1)) * c0[b * H + j] + sigmoid(g(0)) * Math.tanh(g(2));
        hExp[b * H + j] = sigmoid(g(3)) * Math.tanh(cExp[b * H + j]);
      }
    }
    expect(maxAbsDiff(hh.f32(batch * H), hExp)).toBeLessThan(1e-5);
    expect(maxAbsDiff(cc.f32(batch * H), cExp)).toBeLessThan(1e-5);
  });

  it("layerNorm, gelu and l2NormalizeRows match the reference", () => {
    const [rows, dim] = [4, 32];
    const x = random(rows * dim, 18, 3);
    const g = random(dim, 19);
    const b = random(dim, 20);
    const [xb, gb, bb, yb] = [core.fromF32(x), core.fromF32(g), core.fromF32(b), core.buffer(rows * dim * 4)];
    core.exports.layerNorm(xb.aligned, gb.aligned, bb.aligned, yb.aligned, rows, dim);
    expect(maxAbsDiff(yb.f32(rows * dim), layerNorm(x, g, b, rows, dim))).toBeLessThan(1e-4);
    core.exports.gelu(xb.aligned, rows * dim);
    expect(maxAbsDiff(xb.f32(rows * dim), x.map(gelu))).toBeLessThan(1e-5);
    const n = core.fromF32(x);
    core.exports.l2NormalizeRows(n.aligned, rows, dim);
    const norms = Array.from({ length: rows }, (_, r) => Math.hypot(...n.f32(rows * dim).subarray(r * dim, (r + 1) * dim)));
    for (const v of norms) expect(v).toBeCloseTo(1, 5);
  });

  it("gelu (four lanes, scalar tail) matches the reference on both builds, from -12 to 12 and at the edges", async () => {
    // 1003 values: not a multiple of 4, so the scalar tail runs; the range covers the saturated ends.
    const x = random(1003, 31, 12);
    x.set([0, -0, 1e-8, -1e-8, 40, -40, 88, -88, 1e30, -1e30], 0);
    x.set([-5, 5, 3], 1000); // the tail
    const expected = x.map(gelu);
    for (const variant of ["simd", "relaxed"] as const) {
      const c = await loadCore(variant);
      const xb = c.fromF32(x);
      c.exports.gelu(xb.aligned, x.length);
      expect(maxAbsDiff(xb.f32(x.length), expected), variant).toBeLessThan(1e-5);
      // Values past n are untouched.
      const guard = c.fromF32(Float32Array.from([1, 2, 3, 4, 5]));
      c.exports.gelu(guard.aligned, 3);
      expect(Array.from(guard.f32(5)).slice(3)).toEqual([4, 5]);
      xb.free();
      guard.free();
    }
  });

  it("logSumExpRows matches a float64 log-sum-exp per row (scalar tail, masked -Infinity, large logits)", () => {
    // Rows of 8,192 (the decoder's vocabulary) and of 37 (not a multiple of 4: the scalar tail).
    for (const n of [8192, 37]) {
      const rows = 3;
      const x = random(rows * n, 41 + n, 12);
      x[0] = Number.NEGATIVE_INFINITY; // masked pieces, as the decoder leaves them
      x[5] = Number.NEGATIVE_INFINITY;
      x[n + 7] = 95; // a logit whose exp overflows f32 unless the max is taken out first
      x[2 * n + n - 1] = 30; // the row's max in the tail
      const [xb, out] = [core.fromF32(x), core.buffer(rows * 4)];
      core.exports.logSumExpRows(xb.aligned, rows, n, out.aligned);
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x.subarray(r * n, (r + 1) * n));
        const max = Math.max(...row);
        const expected = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
        expect(Math.abs(out.f32(rows)[r] - expected), `n ${n}, row ${r}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
      }
      xb.free();
      out.free();
    }
  });

  it("topKRows gives topIds' ids per row: best first, ties to the lower id, -Infinity never, -1 past the finite values", () => {
    // Rows of 8,000 (the decoder's vocabulary) and of 37 (not a multiple of 4: the scalar tail).
    for (const n of [8000, 37]) {
      const rows = 4;
      const x = random(rows * n, 43 + n, 5);
      for (let i = 0; i < 6; i++) x[i] = Number.NEGATIVE_INFINITY; // masked pieces, as the decoder leaves them
      x[n + 9] = x[n + 30] = x[n + 2] = 7; // a tie at the top of row 1: ids 2, 9, 30 in that order
      x[n + n - 1] = 8; // row 1's best is in its last four values
      for (let i = 0; i < n; i++) x[3 * n + i] = i % 3 === 0 ? 1.5 : Number.NEGATIVE_INFINITY; // row 3: few finite, all tied
      const xb = core.fromF32(x);
      for (const k of [1, 4, 40]) {
        const out = core.buffer(rows * k * 4);
        core.exports.topKRows(xb.aligned, rows, n, k, out.aligned);
        const got = out.i32(rows * k);
        for (let r = 0; r < rows; r++) {
          const expected = topIds(x.subarray(r * n, (r + 1) * n), k);
          const row = Array.from(got.subarray(r * k, (r + 1) * k));
          expect(row, `n ${n}, k ${k}, row ${r}`).toEqual([...expected, ...Array(k - expected.length).fill(-1)]);
        }
        if (k >= 4) expect(Array.from(got.subarray(k, k + 4))).toEqual([n - 1, 2, 9, 30]);
        out.free();
      }
      xb.free();
    }
    // A row with fewer finite values than k: they, then -1.
    const few = new Float32Array(8).fill(Number.NEGATIVE_INFINITY);
    few[6] = 1;
    few[1] = 2;
    const [fb, ob] = [core.fromF32(few), core.buffer(4 * 4)];
    core.exports.topKRows(fb.aligned, 1, 8, 4, ob.aligned);
    expect(Array.from(ob.i32(4))).toEqual([1, 6, -1, -1]);
    fb.free();
    ob.free();
  });

  it("attention matches softmax(q k^T / sqrt(dh)) v per head", () => {
    const [batch, T, W, heads] = [2, 5, 16, 4];
    const [q, k, v] = [random(batch * T * W, 21, 2), random(batch * T * W, 22, 2), random(batch * T * W, 23)];
    const [qb, kb, vb, ob, sb] = [core.fromF32(q), core.fromF32(k), core.fromF32(v), core.buffer(batch * T * W * 4), core.buffer(T * 4)];
    core.exports.attention(qb.aligned, kb.aligned, vb.aligned, ob.aligned, batch, T, W, heads, sb.aligned);
    const dh = W / heads;
    const expected = new Float32Array(batch * T * W);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < T; i++) {
          const s = Array.from({ length: T }, (_, j) => {
            let d = 0;
            for (let c = 0; c < dh; c++) d += q[(b * T + i) * W + h * dh + c] * k[(b * T + j) * W + h * dh + c];
            return d / Math.sqrt(dh);
          });
          const m = Math.max(...s);
          const e = s.map((x) => Math.exp(x - m));
          const sum = e.reduce((a, c) => a + c, 0);
          for (let c = 0; c < dh; c++)
            expected[(b * T + i) * W + h * dh + c] = e.reduce((a, p, j) => a + (p / sum) * v[(b * T + j) * W + h * dh + c], 0);
        }
      }
    }
    expect(maxAbsDiff(ob.f32(batch * T * W), expected)).toBeLessThan(1e-5);
  });

  it("quantizeRowsI16 gives quantizeRows' codes as i16", () => {
    const [rows, n] = [5, 48];
    const x = random(rows * n, 40);
    const [xb, q8, s8, q16, s16] = [
      core.fromF32(x),
      core.buffer(rows * n),
      core.buffer(rows * 4),
      core.buffer(rows * n * 2),
      core.buffer(rows * 4),
    ];
    core.exports.quantizeRows(xb.aligned, rows, n, q8.aligned, s8.aligned);
    core.exports.quantizeRowsI16(xb.aligned, rows, n, q16.aligned, s16.aligned);
    expect(Array.from(new Int16Array(core.exports.memory.buffer, q16.aligned, rows * n))).toEqual(Array.from(q8.i8(rows * n)));
    expect(Array.from(s16.f32(rows))).toEqual(Array.from(s8.f32(rows)));
    for (const buf of [xb, q8, s8, q16, s16]) buf.free();
  });

  // Tiles are 4 rows x 8 outputs, then 1 row x 16 / 8 outputs: odd row counts, widths that are not a
  // multiple of 8 or 16, and inputs a multiple of 4 but not of 16 exercise every tail.
  it.each(PACKED_SHAPES)(
    "linearI8Packed rows=%i in=%i out=%i gives exactly the integer dot, scaled in f32 (both builds)",
    async (rows, inDim, outDim) => {
      for (const core of [await loadCore("simd"), await loadCore("relaxed")]) linearI8PackedCase(core, rows, inDim, outDim);
    },
  );

  it("searchI8 keeps the k best INT8 scores for several queries at once", () => {
    const [count, dim, nq, k] = [300, 32, 3, 10];
    const vectors = Int8Array.from(random(count * dim, 24), (v) => Math.round(v * 127));
    const scales = random(count, 25, 0.01).map(Math.abs);
    const queries = Int8Array.from(random(nq * dim, 26), (v) => Math.round(v * 127));
    const [vb, sb, qb, rb, scb] = [
      core.fromI8(vectors),
      core.fromF32(scales),
      core.fromI8(queries),
      core.buffer(nq * k * 4),
      core.buffer(nq * k * 4),
    ];
    expect(core.exports.searchI8(vb.aligned, sb.aligned, count, dim, qb.aligned, nq, k, rb.aligned, scb.aligned)).toBe(k);
    for (let qi = 0; qi < nq; qi++) {
      const all = Array.from({ length: count }, (_, r) => {
        let d = 0;
        for (let j = 0; j < dim; j++) d += vectors[r * dim + j] * queries[qi * dim + j];
        return { r, s: Math.fround(d * scales[r]) };
      }).sort((a, b) => b.s - a.s || a.r - b.r);
      const got = Array.from(rb.i32(nq * k).subarray(qi * k, (qi + 1) * k)).sort((a, b) => a - b);
      expect(got).toEqual(
        all
          .slice(0, k)
          .map((x) => x.r)
          .sort((a, b) => a - b),
      );
    }
  });
});

describe("relaxed-SIMD kernels (core-relaxed.wasm) vs exact integer arithmetic", () => {
  let relaxed: WasmCore;
  beforeAll(async () => {
    relaxed = await loadCore("relaxed");
  });

  it("loads the relaxed build where the engine has relaxed SIMD, and the plain one on request", async () => {
    expect(relaxed.relaxed).toBe(true);
    expect((await loadCore("simd")).relaxed).toBe(false);
  });

  it("quantizeRowsU7 maps each row to -63..63 shifted by 64", () => {
    const [rows, n] = [3, 32];
    const x = random(rows * n, 30);
    const [xb, qb, sb] = [relaxed.fromF32(x), relaxed.buffer(rows * n), relaxed.buffer(rows * 4)];
    relaxed.exports.quantizeRowsU7!(xb.aligned, rows, n, qb.aligned, sb.aligned);
    const q = new Uint8Array(relaxed.exports.memory.buffer, qb.aligned, rows * n);
    const s = sb.f32(rows);
    for (let r = 0; r < rows; r++) {
      const max = Math.max(...Array.from(x.subarray(r * n, (r + 1) * n), Math.abs));
      expect(s[r]).toBeCloseTo(max / 63, 6);
      for (let j = 0; j < n; j++) {
        expect(q[r * n + j]).toBeGreaterThanOrEqual(1);
        expect(q[r * n + j]).toBeLessThanOrEqual(127);
        expect(Math.abs((q[r * n + j] - 64) * s[r] - x[r * n + j])).toBeLessThanOrEqual(s[r] / 2 + 1e-6);
      }
    }
  });

  it.each([
    [1, 16, 4],
    [4, 48, 8],
    [7, 64, 5],
    [32, 512, 96],
  ])("linearI8U7 rows=%i in=%i out=%i equals the exact integer computation", (rows, inDim, outDim) => {
    const xu7 = Uint8Array.from(random(rows * inDim, 31), (v) => 64 + Math.round(v * 63));
    const wq = Int8Array.from(random(outDim * inDim, 32), (v) => Math.round(v * 127));
    const wsum = Int32Array.from({ length: outDim }, (_, o) => 64 * wq.subarray(o * inDim, (o + 1) * inDim).reduce((a, b) => a + b, 0));
    const xs = random(rows, 33, 0.01).map(Math.abs);
    const ws = random(outDim, 34, 0.01).map(Math.abs);
    const b = random(outDim, 35);
    const xb = relaxed.buffer(rows * inDim);
    new Uint8Array(relaxed.exports.memory.buffer, xb.aligned, rows * inDim).set(xu7);
    const bufs = [
      xb,
      relaxed.fromF32(xs),
      relaxed.fromI8(wq),
      relaxed.fromF32(ws),
      relaxed.fromI32(wsum),
      relaxed.fromF32(b),
      relaxed.buffer(rows * outDim * 4),
    ];
    const [, xsb, wqb, wsb, sumb, bb, yb] = bufs;
    relaxed.exports.linearI8U7!(
      xb.aligned,
      xsb.aligned,
      wqb.aligned,
      wsb.aligned,
      sumb.aligned,
      bb.aligned,
      yb.aligned,
      rows,
      inDim,
      outDim,
    );
    const expected = new Float32Array(rows * outDim);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let dot = 0;
        for (let i = 0; i < inDim; i++) dot += (xu7[r * inDim + i] - 64) * wq[o * inDim + i];
        expected[r * outDim + o] = xs[r] * ws[o] * dot + b[o];
      }
    }
    expect(maxAbsDiff(yb.f32(rows * outDim), expected)).toBeLessThan(1e-4);
    for (const buf of bufs) buf.free();
  });

  it.each(PACKED_SHAPES)("linearI8U7Packed rows=%i in=%i out=%i gives exactly the integer dot, scaled in f32", (rows, inDim, outDim) => {
    const t = int8Case(rows, inDim, outDim, 1, 63);
    const e = relaxed.exports;
    const xb = relaxed.buffer(rows * inDim);
    new Uint8Array(e.memory.buffer, xb.aligned, rows * inDim).set(Uint8Array.from(t.xq, (v) => v + 64));
    const outPad = Math.ceil(outDim / 8) * 8;
    const packed = relaxed.buffer(e.packedI8U7Bytes!(outDim, inDim));
    expect(packed.bytes).toBe(outPad * inDim + 4 * outPad);
    const [wqb, xsb, wsb, bb, yb] = [
      relaxed.fromI8(t.wq),
      relaxed.fromF32(t.xs),
      relaxed.fromF32(t.ws),
      relaxed.fromF32(t.b),
      relaxed.buffer(rows * outDim * 4 + 64),
    ];
    e.packI8U7!(wqb.aligned, outDim, inDim, packed.aligned);
    for (const bias of [bb, null]) {
      yb.f32().fill(-7);
      e.linearI8U7Packed!(xb.aligned, xsb.aligned, packed.aligned, wsb.aligned, bias?.aligned ?? 0, yb.aligned, rows, inDim, outDim);
      expect(Array.from(yb.f32(rows * outDim))).toEqual(Array.from(exactInt8(t, rows, inDim, outDim, bias !== null)));
      expect(Array.from(yb.f32().subarray(rows * outDim))).toEqual(new Array(16).fill(-7));
    }
    for (const buf of [xb, packed, wqb, xsb, wsb, bb, yb]) buf.free();
  });

  it("scoresI8U7 and selectTopK give every row's exact shifted-back score and the k best", () => {
    const [count, dim, k] = [301, 32, 7];
    const vectors = Int8Array.from(random(count * dim, 36), (v) => Math.round(v * 127));
    const scales = random(count, 37, 0.01).map(Math.abs);
    const qu7 = Uint8Array.from(random(dim, 38), (v) => 64 + Math.round(v * 63));
    const [vb, sb, sums, qb, out, rb, kb] = [
      relaxed.fromI8(vectors),
      relaxed.fromF32(scales),
      relaxed.buffer(count * 4),
      relaxed.buffer(dim),
      relaxed.buffer(count * 4),
      relaxed.buffer(k * 4),
      relaxed.buffer(k * 4),
    ];
    new Uint8Array(relaxed.exports.memory.buffer, qb.aligned, dim).set(qu7);
    relaxed.exports.rowSumsI8(vb.aligned, count, dim, sums.aligned);
    relaxed.exports.scoresI8U7!(vb.aligned, sb.aligned, sums.aligned, count, dim, qb.aligned, out.aligned);
    const expected = Array.from({ length: count }, (_, r) => {
      let d = 0;
      for (let j = 0; j < dim; j++) d += vectors[r * dim + j] * (qu7[j] - 64);
      return Math.fround(d * scales[r]);
    });
    expect(Array.from(out.f32(count))).toEqual(expected);
    expect(relaxed.exports.selectTopK(out.aligned, count, k, rb.aligned, kb.aligned)).toBe(k);
    const best = expected
      .map((s, r) => ({ s, r }))
      .sort((a, b) => b.s - a.s || a.r - b.r)
      .slice(0, k)
      .map((x) => x.r)
      .sort((a, b) => a - b);
    expect(Array.from(rb.i32(k)).sort((a, b) => a - b)).toEqual(best);
  });
});
