// The decoder's forward pass on the WASM core (f32 and INT8) and in TF.js against the TypeScript reference.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { makeBatch } from "../../src/decoder/batches.ts";
import { CoreDecoder } from "../../src/decoder/core-decoder.ts";
import type { SentenceSet } from "../../src/decoder/dataset-format.ts";
import { beamDecode, greedyDecode, sampleDecode, topIds } from "../../src/decoder/decode.ts";
import { ReferenceDecoder, referenceLogits } from "../../src/decoder/reference.ts";
import type { DecoderRunner } from "../../src/decoder/runner.ts";
import { BOS_ID } from "../../src/decoder/text.ts";
import { tfDecoderLogits, tfDecoderLoss, toDecoderParams } from "../../src/decoder/tf-decoder.ts";
import { createRng } from "../../src/lvm/rng.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { cosine, maxAbsDiff } from "../helpers.ts";
import { tinyConfig, tinyModel, unitVector } from "./fixture.ts";

let core: WasmCore;
beforeAll(async () => {
  core = await loadCore();
  await initLvmBackend();
});

const model = tinyModel();
const { dim, vocab } = tinyConfig;
const inputs = [BOS_ID, 9, 17, 6, 33, 12];

/** Logits of `inputs` fed one by one to a runner, [T][V]. */
function runnerLogits(runner: CoreDecoder | ReferenceDecoder, v: Float32Array): Float32Array[] {
  const state = runner.start(v, 1);
  return inputs.map((id) => runner.step(state, [id]));
}

describe("decoder forward vs the reference", () => {
  const v = unitVector(dim, 3);
  const reference = referenceLogits(model, v, inputs);

  it("the reference runner reproduces referenceLogits", () => {
    const got = runnerLogits(new ReferenceDecoder(model), v);
    for (let t = 0; t < inputs.length; t++) expect(maxAbsDiff(got[t], reference[t])).toBeLessThan(1e-4);
  });

  it("core f32 matches the reference within 1e-4", () => {
    const got = runnerLogits(new CoreDecoder(core, model, "f32"), v);
    for (let t = 0; t < inputs.length; t++) expect(maxAbsDiff(got[t], reference[t])).toBeLessThan(1e-4);
  });

  it("core INT8 matches the reference: logit rows at cosine >= 0.999, max error <= 3% of the logit range", () => {
    const got = runnerLogits(new CoreDecoder(core, model, "int8"), v);
    for (let t = 0; t < inputs.length; t++) {
      const range = Math.max(...reference[t]) - Math.min(...reference[t]);
      expect(cosine(got[t], reference[t])).toBeGreaterThan(0.999);
      expect(maxAbsDiff(got[t], reference[t])).toBeLessThan(0.03 * range);
    }
  });

  it("greedy decoding gives the same pieces on the reference and core f32 (batched rows)", () => {
    const vectors = new Float32Array(4 * dim);
    for (let r = 0; r < 4; r++) vectors.set(unitVector(dim, 10 + r), r * dim);
    const ref = greedyDecode(new ReferenceDecoder(model), vectors, 4).map((h) => h.ids);
    expect(ref.some((ids) => ids.length > 0)).toBe(true);
    expect(greedyDecode(new CoreDecoder(core, model, "f32"), vectors, 4).map((h) => h.ids)).toEqual(ref);
  });

  it("core INT8 greedy picks, replayed on the reference, are each within 3% of the logit range of its best piece", () => {
    // INT8 may flip a near-tie (then the sequences diverge); it must never pick a clearly worse piece.
    const vectors = new Float32Array(8 * dim);
    for (let r = 0; r < 8; r++) vectors.set(unitVector(dim, 30 + r), r * dim);
    const int8 = greedyDecode(new CoreDecoder(core, model, "int8"), vectors, 8);
    let steps = 0;
    for (let r = 0; r < 8; r++) {
      const ids = int8[r].ids;
      const ref = referenceLogits(model, vectors.subarray(r * dim, (r + 1) * dim), [BOS_ID, ...ids]);
      for (let t = 0; t < ids.length; t++) {
        const row = Array.from(ref[t]).map((x, id) => (id < 6 ? Number.NEGATIVE_INFINITY : x));
        if (t === 0) row[2] = Number.NEGATIVE_INFINITY;
        const best = Math.max(...row);
        const range = best - Math.min(...ref[t]);
        expect(best - row[ids[t]]).toBeLessThanOrEqual(0.03 * range);
        steps++;
      }
    }
    expect(steps).toBeGreaterThan(8);
  });

  it("beam search of width 1 is greedy decoding; wider beams find no lower log-probability", () => {
    const runner = new ReferenceDecoder(model);
    for (const seed of [21, 22, 23]) {
      const vec = unitVector(dim, seed);
      const greedy = greedyDecode(runner, vec, 1)[0];
      const beam1 = beamDecode(runner, vec, 1, { lengthPenalty: 0 })[0];
      expect(beam1.ids).toEqual(greedy.ids);
      expect(beam1.logProb).toBeCloseTo(greedy.logProb, 4);
      const beam4 = beamDecode(runner, vec, 4, { lengthPenalty: 0 });
      expect(beam4[0].logProb).toBeGreaterThanOrEqual(greedy.logProb - 1e-9);
    }
  });

  it("sampling steps only the live rows: each step runs the hypotheses that have not ended", () => {
    const reference = new ReferenceDecoder(model);
    const rowsPerStep: number[] = [];
    const counting: DecoderRunner = {
      config: reference.config,
      condWidth: reference.condWidth,
      start: (vectors, rows) => reference.start(vectors, rows),
      step: (state, tokens) => {
        rowsPerStep.push(state.rows);
        return reference.step(state, tokens);
      },
    };
    const hyps = sampleDecode(counting, unitVector(dim, 34), 6, createRng(5), { temperature: 1.5, topK: vocab, maxTokens: 60 });
    // Hypothesis i took ids.length + 1 steps (its pieces, then </s>, or the forced end at maxTokens).
    const expected = Array.from({ length: rowsPerStep.length }, (_, t) => hyps.filter((h) => h.ids.length + 1 > t).length);
    expect(rowsPerStep).toEqual(expected);
    expect(new Set(hyps.map((h) => h.ids.length)).size).toBeGreaterThan(1); // the fixture's samples end at different steps
  });

  it("log-probabilities summed by the core's kernel equal the JS sum's: same beams, same scores as on the reference", () => {
    const coreRunner = new CoreDecoder(core, model, "f32");
    const reference: DecoderRunner = new ReferenceDecoder(model);
    expect(reference.logSumExpRows).toBeUndefined(); // the reference takes decode.ts's JS path
    for (const seed of [31, 32]) {
      const vec = unitVector(dim, seed);
      const [onCore, onReference] = [beamDecode(coreRunner, vec, 4), beamDecode(reference, vec, 4)];
      expect(onCore.map((h) => h.ids)).toEqual(onReference.map((h) => h.ids));
      for (const [i, h] of onCore.entries()) expect(h.logProb).toBeCloseTo(onReference[i].logProb, 3);
    }
    // The kernel's sum normalises: one step's probabilities, exp(logit - lse), add up to 1.
    const logits = coreRunner.step(coreRunner.start(unitVector(dim, 33), 1), [BOS_ID]);
    const [lse] = coreRunner.logSumExpRows(logits, 1);
    expect(logits.reduce((a, x) => a + Math.exp(x - lse), 0)).toBeCloseTo(1, 5);
    coreRunner.dispose();
  });

  it("the core's top-k kernel picks the pieces topIds picks: the same beams and samples as without it", () => {
    const coreRunner = new CoreDecoder(core, model, "f32");
    // The same core, through decode.ts's JS paths (no kernels for top-k or the log-sum-exp).
    const plain: DecoderRunner = {
      config: coreRunner.config,
      condWidth: coreRunner.condWidth,
      start: (vectors, rows) => coreRunner.start(vectors, rows),
      step: (state, tokens) => coreRunner.step(state, tokens),
    };
    expect(coreRunner.topIdsRows).toBeDefined();
    for (const seed of [41, 42]) {
      const vec = unitVector(dim, seed);
      const [withKernel, withoutKernel] = [beamDecode(coreRunner, vec, 4), beamDecode(plain, vec, 4)];
      expect(withKernel.map((h) => h.ids)).toEqual(withoutKernel.map((h) => h.ids));
      const options = { temperature: 1.2, topK: 12, maxTokens: 20 };
      const sampled = sampleDecode(coreRunner, vec, 5, createRng(seed), options);
      expect(sampled.map((h) => h.ids)).toEqual(sampleDecode(plain, vec, 5, createRng(seed), options).map((h) => h.ids));
      expect(new Set(sampled.map((h) => h.ids.join())).size).toBeGreaterThan(1);
    }
    coreRunner.dispose();
  });

  it("sampling without log-probabilities draws the same pieces and sums no row", () => {
    const coreRunner = new CoreDecoder(core, model, "f32");
    let sums = 0;
    const counting: DecoderRunner = {
      config: coreRunner.config,
      condWidth: coreRunner.condWidth,
      start: (vectors, rows) => coreRunner.start(vectors, rows),
      step: (state, tokens) => coreRunner.step(state, tokens),
      topIdsRows: (logits, rows, k) => coreRunner.topIdsRows(logits, rows, k),
      logSumExpRows: (logits, rows) => {
        sums += rows;
        return coreRunner.logSumExpRows(logits, rows);
      },
    };
    const vec = unitVector(dim, 43);
    const scored = sampleDecode(counting, vec, 6, createRng(9), { temperature: 1.5 });
    expect(sums).toBeGreaterThan(0);
    for (const h of scored) expect(h.logProb).toBeLessThan(0);
    sums = 0;
    const unscored = sampleDecode(counting, vec, 6, createRng(9), { temperature: 1.5, logProb: false });
    expect(sums).toBe(0);
    expect(unscored.map((h) => h.ids)).toEqual(scored.map((h) => h.ids));
    for (const h of unscored) expect(h.logProb).toBeNaN();
    coreRunner.dispose();
  });

  it("TF.js teacher-forced logits match the reference, and the loss is their masked cross-entropy", () => {
    // Two sentences of different lengths: the shorter is padded after its </s>.
    const ids = [
      [9, 17, 6, 33, 12],
      [20, 8],
    ];
    const set: SentenceSet = {
      encoder: "t",
      dim,
      articles: ["a"],
      source: {},
      offsets: Uint32Array.from([0, 5, 7]),
      tokens: Uint16Array.from(ids.flat()),
      article: Uint32Array.from([0, 0]),
      vectors: Float32Array.from([...unitVector(dim, 1), ...unitVector(dim, 2)]),
    };
    const batch = makeBatch(set, [0, 1]);
    const params = toDecoderParams(model.tensors);
    const logits = tf.tidy(() => tfDecoderLogits(params, tinyConfig, batch).arraySync()) as number[][];
    let nll = 0;
    let count = 0;
    for (let b = 0; b < 2; b++) {
      const inputsB = [BOS_ID, ...ids[b]];
      const ref = referenceLogits(model, set.vectors.subarray(b * dim, (b + 1) * dim), inputsB);
      for (let t = 0; t < inputsB.length; t++) {
        expect(maxAbsDiff(logits[t * 2 + b], ref[t])).toBeLessThan(1e-3);
        const target = t < ids[b].length ? ids[b][t] : 2;
        const row = ref[t];
        const max = Math.max(...row);
        nll += max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) - row[target];
        count++;
      }
    }
    const loss = tf.tidy(() => tfDecoderLoss(params, tinyConfig, batch).dataSync()[0]);
    expect(loss).toBeCloseTo(nll / count, 3);
    for (const p of params.values()) p.dispose();
    expect(vocab).toBe(40);
  });
});

describe("topIds", () => {
  it("returns the k largest finite values' ids, best first", () => {
    const row = Float32Array.from([0.5, Number.NEGATIVE_INFINITY, 3, -1, 2, 2.5, 7, 0]);
    expect(topIds(row, 3)).toEqual([6, 2, 5]);
    expect(topIds(row, 10)).toEqual([6, 2, 5, 4, 0, 7, 3]);
    const big = Float32Array.from(
      { length: 500 },
      (_, i) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453),
    );
    const sorted = Array.from(big.keys()).sort((a, b) => big[b] - big[a]);
    expect(topIds(big, 40)).toEqual(sorted.slice(0, 40));
  });
});
