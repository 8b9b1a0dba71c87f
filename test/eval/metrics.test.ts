import { beforeAll, describe, expect, it } from "vitest";
import {
  contrastiveAccuracy,
  copyLastPredictions,
  meanContextPredictions,
  meanCosineToTarget,
  meanMargin,
} from "../../src/eval/metrics.ts";
import { createRetrievalIndex, rankTargets, summarizeRanks } from "../../src/eval/retrieval.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { type WindowSource, windowTargets } from "../../src/lvm/windows.ts";
import { randomUnitRows } from "../lvm/mini-store.ts";

const dim = 16;
const source: WindowSource = {
  dim,
  vectors: randomUnitRows(60, dim, 42),
  documents: [
    { id: "a", first: 0, count: 20 },
    { id: "b", first: 20, count: 25 },
    { id: "c", first: 45, count: 15 },
  ],
};
const targets = windowTargets(source, [0, 1, 2], 5);

beforeAll(async () => {
  await initLvmBackend();
});

describe("retrieval metrics", () => {
  it("summarizes ranks: recall in percent, MRR a fraction", () => {
    const s = summarizeRanks(Int32Array.of(1, 3, 6, 25));
    expect(s).toEqual({ "r@1": 25, "r@5": 50, "r@10": 75, "r@20": 75, mrr: (1 + 1 / 3 + 1 / 6 + 1 / 25) / 4 });
  });

  it("an oracle predictor gets R@1 = 100% and MRR 1 in both protocols", () => {
    const index = createRetrievalIndex(source.vectors, dim);
    const oracle = new Float32Array(targets.length * dim);
    targets.forEach((t, i) => {
      oracle.set(source.vectors.subarray(t * dim, (t + 1) * dim), i * dim);
    });
    const { ranks } = rankTargets(index, oracle, targets, 5);
    expect(summarizeRanks(ranks.excluded)).toEqual({ "r@1": 100, "r@5": 100, "r@10": 100, "r@20": 100, mrr: 1 });
    expect(summarizeRanks(ranks.included)["r@1"]).toBe(100);
    expect(meanCosineToTarget(source, oracle, targets)).toBeCloseTo(1, 5);
    expect(contrastiveAccuracy(source, oracle, targets)).toBeCloseTo(100, 6);
    index.dispose();
  });

  it("copy-last is the last context concept; with the context kept among the candidates it scores R@1 = 0", () => {
    const copy = copyLastPredictions(source, targets);
    targets.forEach((t, i) => {
      expect(copy.subarray(i * dim, (i + 1) * dim)).toEqual(source.vectors.subarray((t - 1) * dim, t * dim));
    });
    const index = createRetrievalIndex(source.vectors, dim);
    const { ranks } = rankTargets(index, copy, targets, 5);
    expect(summarizeRanks(ranks.included)["r@1"]).toBe(0);
    expect(meanMargin(source, copy, targets)).toBeLessThan(-0.5);
    index.dispose();
  });

  it("mean-of-context is the normalised mean of the 5 context concepts", () => {
    const mean = meanContextPredictions(source, targets.subarray(0, 1), 5);
    const t = targets[0];
    const expected = new Float64Array(dim);
    for (let r = t - 5; r < t; r++) for (let j = 0; j < dim; j++) expected[j] += source.vectors[r * dim + j];
    const n = Math.hypot(...expected);
    for (let j = 0; j < dim; j++) expect(mean[j]).toBeCloseTo(expected[j] / n, 6);
  });

  it("batched ranks agree with exactSearch (context excluded and included)", () => {
    const index = createRetrievalIndex(source.vectors, dim);
    const queries = randomUnitRows(targets.length, dim, 7);
    const { ranks, blended } = rankTargets(index, queries, targets, 5, { last: copyLastPredictions(source, targets), weights: [0, 1] });
    targets.forEach((t, i) => {
      const q = queries.subarray(i * dim, (i + 1) * dim);
      const exclude = new Set([t - 5, t - 4, t - 3, t - 2, t - 1]);
      const hitsEx = exactSearch(source.vectors, dim, q, 60, exclude);
      const hitsIn = exactSearch(source.vectors, dim, q, 60);
      expect(ranks.excluded[i]).toBe(Array.from(hitsEx.rows).indexOf(t) + 1);
      expect(ranks.included[i]).toBe(Array.from(hitsIn.rows).indexOf(t) + 1);
    });
    // Blend weight 0 is the prediction itself; weight 1 is copy-last.
    expect(blended[0].excluded).toEqual(ranks.excluded);
    const copy = rankTargets(index, copyLastPredictions(source, targets), targets, 5).ranks;
    expect(blended[1].excluded).toEqual(copy.excluded);
    index.dispose();
  });

  it("contrastive accuracy and margin on a hand-made case", () => {
    const two: WindowSource = {
      dim: 2,
      vectors: Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, -1, 0, 0, 1),
      documents: [
        { id: "a", first: 0, count: 7 },
        { id: "b", first: 7, count: 1 },
      ],
    };
    // Windows: target 5 (0,1) after last (1,0); target 6 (-1,0) after last (0,1).
    const t = windowTargets(two, [0], 5);
    expect(Array.from(t)).toEqual([5, 6]);
    const pred = Float32Array.of(0, 1, 0, 1);
    // Row 0: own target (0,1) scores 1 vs the other (-1,0) scores 0: further -> 1. Row 1: own (-1,0) 0 vs (0,1) 1 -> 0.
    expect(contrastiveAccuracy(two, pred, t)).toBeCloseTo(50, 6);
    // Margins: row 0: cos(next)=1 - cos(prev=(1,0))=0 -> 1; row 1: cos(next)=0 - cos(prev=(0,1))=1 -> -1.
    expect(meanMargin(two, pred, t)).toBeCloseTo(0, 6);
  });
});
