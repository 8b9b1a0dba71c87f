// The refinement loop on the tiny decoder with stand-in encoders: it keeps the best text seen, stops when the
// cosine stops improving (after `patience` more tries), embeds each text once, and refuses malformed target vectors
// by name.
import { describe, expect, it } from "vitest";
import { ReferenceDecoder } from "../../src/decoder/reference.ts";
import { checkTargetVector, decodeAndRefine, type EmbedTexts } from "../../src/decoder/refine.ts";
import type { DecoderRunner } from "../../src/decoder/runner.ts";
import { fnv1a } from "../../src/math/fnv1a.ts";
import { tinyConfig, tinyModel, tinyPieces, unitVector } from "./fixture.ts";

const runner = new ReferenceDecoder(tinyModel());
const { dim } = tinyConfig;

/** A stand-in encoder: each distinct text gets its own seeded random unit vector. */
function hashEncoder(calls: string[][] = []): EmbedTexts {
  return async (texts) => {
    calls.push([...texts]);
    const out = new Float32Array(texts.length * dim);
    for (const [i, t] of texts.entries()) out.set(unitVector(dim, fnv1a(new TextEncoder().encode(t))), i * dim);
    return out;
  };
}

describe("decodeAndRefine", () => {
  it("never returns a worse cosine than its first hypothesis; each recorded step improves on the last", async () => {
    let refined = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const target = unitVector(dim, 100 + seed);
      const out = await decodeAndRefine(runner, hashEncoder(), tinyPieces, target, { steps: 6, seed });
      expect(out.text.length).toBeGreaterThan(0);
      expect(out.cosine).toBeGreaterThanOrEqual(out.history[0].cosine);
      expect(out.cosine).toBe(out.history[out.history.length - 1].cosine);
      for (let k = 1; k < out.history.length; k++) expect(out.history[k].cosine).toBeGreaterThan(out.history[k - 1].cosine);
      // The answer's cosine is the stand-in encoder's cosine of the answer's text.
      const v = (await hashEncoder()([out.text])).slice(0, dim);
      expect(v.reduce((s, x, i) => s + x * target[i], 0)).toBeCloseTo(out.cosine, 5);
      if (out.history.length > 1) refined++;
    }
    expect(refined).toBeGreaterThan(0);
  });

  it("with patience 0 it stops at the first step that does not improve the cosine", async () => {
    // Every text embeds to the same vector: no step can improve on the first hypothesis.
    const constant: EmbedTexts = async (texts) => {
      const out = new Float32Array(texts.length * dim);
      for (let i = 0; i < texts.length; i++) out.set(unitVector(dim, 9), i * dim);
      return out;
    };
    const out = await decodeAndRefine(runner, constant, tinyPieces, unitVector(dim, 3), { steps: 5, patience: 0 });
    expect(out.steps).toBe(1);
    expect(out.history).toHaveLength(1);
  });

  it("with patience p it stops after p + 1 steps in a row without a better text; a text is embedded once per decode", async () => {
    const constant: EmbedTexts = async (texts) => {
      const out = new Float32Array(texts.length * dim);
      for (let i = 0; i < texts.length; i++) out.set(unitVector(dim, 9), i * dim);
      return out;
    };
    const out = await decodeAndRefine(runner, constant, tinyPieces, unitVector(dim, 3), { steps: 6, patience: 2 });
    expect(out.steps).toBe(3);
    expect(out.history).toHaveLength(1);
    for (const seed of [1, 2, 3]) {
      const calls: string[][] = [];
      await decodeAndRefine(runner, hashEncoder(calls), tinyPieces, unitVector(dim, 100 + seed), { steps: 6, patience: 6, seed });
      const embedded = calls.flat();
      expect(calls.length).toBeGreaterThan(2);
      expect(new Set(embedded).size).toBe(embedded.length);
    }
  });

  it("with steps 0 it is beam search re-ranked by cosine, one encoder call", async () => {
    const calls: string[][] = [];
    const out = await decodeAndRefine(runner, hashEncoder(calls), tinyPieces, unitVector(dim, 4), { steps: 0, beam: 4 });
    expect(calls).toHaveLength(1);
    expect(out.steps).toBe(0);
    expect(calls[0]).toContain(out.text);
  });

  it("ranks candidates with `rank`, then reports embed's cosines: the history is the best by embed's, step by step", async () => {
    // embed: the hash encoder; rank: another (a different seed per text), so the two disagree on which text is best.
    const rankCalls: string[][] = [];
    const rank: EmbedTexts = async (texts) => {
      rankCalls.push([...texts]);
      const out = new Float32Array(texts.length * dim);
      for (const [i, t] of texts.entries()) out.set(unitVector(dim, fnv1a(new TextEncoder().encode(`rank ${t}`))), i * dim);
      return out;
    };
    const embed = hashEncoder();
    const exactCosine = async (text: string, target: Float32Array) =>
      (await embed([text])).slice(0, dim).reduce((s, x, i) => s + x * target[i], 0);
    let disagreed = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const target = unitVector(dim, 300 + seed);
      const embedCalls: string[][] = [];
      const options = { steps: 6, patience: 6, seed };
      rankCalls.length = 0;
      const out = await decodeAndRefine(runner, hashEncoder(embedCalls), tinyPieces, target, options, rank);
      const ranked = await decodeAndRefine(runner, rank, tinyPieces, target, options);
      // The same search as ranking alone (the same texts at the same steps)...
      expect(out.steps).toBe(ranked.steps);
      expect(rankCalls.length).toBeGreaterThan(1);
      // ...and embed reads only the history's texts, once, in one call.
      expect(embedCalls).toHaveLength(1);
      expect(new Set(embedCalls[0])).toEqual(new Set(ranked.history.map((h) => h.text)));
      // Every entry: the best by embed's cosine among the ranked history up to its step.
      for (const [k, h] of out.history.entries()) {
        const upTo = ranked.history.slice(0, k + 1);
        const cosines = await Promise.all(upTo.map((r) => exactCosine(r.text, target)));
        expect(h.step).toBe(ranked.history[k].step);
        expect(h.cosine).toBeCloseTo(Math.max(...cosines), 6);
        expect(h.cosine).toBeCloseTo(await exactCosine(h.text, target), 6);
      }
      expect(out.text).toBe(out.history.at(-1)!.text);
      expect(out.cosine).toBe(out.history.at(-1)!.cosine);
      if (out.text !== ranked.text) disagreed++;
    }
    expect(disagreed).toBeGreaterThan(0); // the fixture has cases where embed's best is not rank's
  });

  it("refuses a vector of the wrong size, with a NaN, or all zeros, naming what is wrong", async () => {
    await expect(decodeAndRefine(runner, hashEncoder(), tinyPieces, new Float32Array(dim + 1))).rejects.toThrow(
      `vector has ${dim + 1} values, expected ${dim}`,
    );
    const nan = unitVector(dim, 1);
    nan[5] = Number.NaN;
    await expect(decodeAndRefine(runner, hashEncoder(), tinyPieces, nan)).rejects.toThrow("vector[5] is NaN, expected a finite number");
    await expect(decodeAndRefine(runner, hashEncoder(), tinyPieces, new Float32Array(dim))).rejects.toThrow(/all zeros/);
    expect(Math.hypot(...checkTargetVector([3, 4], 2))).toBeCloseTo(1, 6);
  });

  it("a corrector decodes on [target ; target] first, then on [target ; embedding of the best text so far]", async () => {
    const corrector = new ReferenceDecoder(tinyModel(7, { ...tinyConfig, dim: 2 * dim, corrector: true }));
    const seen: Float32Array[] = [];
    const spy: DecoderRunner = {
      config: corrector.config,
      condWidth: corrector.condWidth,
      start: (vectors, rows) => {
        seen.push(vectors.slice(0, 2 * dim));
        return corrector.start(vectors, rows);
      },
      step: (state, tokens) => corrector.step(state, tokens),
    };
    const embed = hashEncoder();
    for (const seed of [1, 2, 3]) {
      seen.length = 0;
      const target = unitVector(dim, 200 + seed);
      const out = await decodeAndRefine(spy, embed, tinyPieces, target, { steps: 3, feedback: 0, patience: 3, seed });
      expect(out.steps).toBe(3);
      // Step 0's beam: [t ; t].
      expect([...seen[0]]).toEqual([...target, ...target]);
      // Each later start: [t ; e(best text so far)], and the best changes only when a step finds a better text.
      const hypotheses = seen.slice(1).map((v) => v.subarray(dim));
      for (const v of seen.slice(1)) expect([...v.subarray(0, dim)]).toEqual([...target]);
      const bests = await Promise.all(out.history.map(async (h) => (await embed([h.text])).slice(0, dim)));
      for (const h of hypotheses) expect(bests.some((b) => b.every((x, i) => x === h[i]))).toBe(true);
      expect(hypotheses.some((h) => h.some((x, i) => x !== target[i]))).toBe(true);
      // The answer's cosine is to the target (its half of the conditioning), not to the 2 x dim vector.
      const v = (await embed([out.text])).slice(0, dim);
      expect(v.reduce((s, x, i) => s + x * target[i], 0)).toBeCloseTo(out.cosine, 5);
    }
    await expect(decodeAndRefine(spy, embed, tinyPieces, new Float32Array(2 * dim))).rejects.toThrow(
      `vector has ${2 * dim} values, expected ${dim}`,
    );
  });
});
