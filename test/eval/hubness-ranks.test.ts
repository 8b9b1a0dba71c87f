// The hubness penalty in batched retrieval ranks (src/eval/retrieval.ts) against the plain references of
// src/index/hubness.ts: store hub values, and penalised ranks of blended queries by brute force.
import { beforeAll, describe, expect, it } from "vitest";
import { copyLastPredictions } from "../../src/eval/metrics.ts";
import { createRetrievalIndex, type RetrievalIndex, rankTargets, storeHubnessTf } from "../../src/eval/retrieval.ts";
import { hubnessReference, type StoreHubness } from "../../src/index/hubness.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { windowTargets } from "../../src/lvm/windows.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, random, tempDir } from "../helpers.ts";

const ROWS = 700;
let store: ConceptStore;
let vectors: Float32Array;
let index: RetrievalIndex;
let reference: StoreHubness;
beforeAll(async () => {
  await initLvmBackend();
  await using dir = await tempDir();
  store = await readStore(await buildMiniStore(dir.path));
  // The first 700 rows (whole documents or not: windows below stay inside the documents that fit).
  vectors = store.vectors.subarray(0, ROWS * store.dim);
  index = createRetrievalIndex(vectors, store.dim);
  reference = hubnessReference(vectors, store.dim, 10);
});

describe("storeHubnessTf", () => {
  it("equals hubnessReference (each row's mean cosine to its 10 nearest other rows)", () => {
    // A block size that does not divide the row count, so the last block is short.
    const ours = storeHubnessTf(index, vectors, 10, 96);
    expect(ours.neighbours).toBe(10);
    for (let r = 0; r < ROWS; r++) expect(ours.values[r]).toBeCloseTo(reference.values[r], 5);
    expect(ours.min).toBeCloseTo(reference.min, 5);
  });
});

/** Brute force: the unit blended query, every candidate scored cos - b * hub, the target's rank (ties: lower row first). */
function bruteRank(p: Float32Array, l: Float32Array, t: number, w: number, b: number, context: number, exclude: boolean): number {
  const dim = store.dim;
  const q = Float64Array.from(p, (x, d) => (1 - w) * x + w * l[d]);
  const norm = Math.hypot(...q);
  const score = (c: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (q[d] / norm) * vectors[c * dim + d];
    return s - b * reference.values[c];
  };
  const st = score(t);
  let rank = 1;
  for (let c = 0; c < ROWS; c++) {
    if (c === t || (exclude && c >= t - context && c < t)) continue;
    const s = score(c);
    if (s > st || (s === st && c < t)) rank++;
  }
  return rank;
}

describe("rankTargets with a hubness penalty", () => {
  it("ranks like brute force over unit blended queries, and the penalty changes ranks", () => {
    const dim = store.dim;
    const docs = store.documents.map((d, i) => ({ d, i })).filter(({ d }) => d.first + d.count <= ROWS);
    const targets = windowTargets(
      store,
      docs.map(({ i }) => i),
      5,
    ).subarray(0, 60);
    // Predictions: the target plus noise (not unit, so the blend's norm matters), then normalised.
    const noise = random(targets.length * dim, 7, 0.08);
    const predictions = new Float32Array(targets.length * dim);
    targets.forEach((t, i) => {
      for (let d = 0; d < dim; d++) predictions[i * dim + d] = vectors[t * dim + d] + noise[i * dim + d];
      const row = predictions.subarray(i * dim, (i + 1) * dim);
      const n = Math.hypot(...row);
      for (let d = 0; d < dim; d++) row[d] /= n;
    });
    const last = copyLastPredictions(store, targets);
    const weights = [0, 0.3, 0.3, 0.7, 1, 0.3];
    const hubWeights = [0.5, 0, 0.5, 1, 0.5, 2];
    const { blended } = rankTargets(index, predictions, targets, 5, { last, weights, hubWeights, hubness: reference.values });
    let differs = 0;
    for (let k = 0; k < weights.length; k++) {
      for (let i = 0; i < targets.length; i++) {
        const p = predictions.subarray(i * dim, (i + 1) * dim);
        const l = last.subarray(i * dim, (i + 1) * dim);
        expect(blended[k].excluded[i], `entry ${k} window ${i}`).toBe(bruteRank(p, l, targets[i], weights[k], hubWeights[k], 5, true));
        expect(blended[k].included[i], `entry ${k} window ${i}`).toBe(bruteRank(p, l, targets[i], weights[k], hubWeights[k], 5, false));
        if (hubWeights[k] > 0 && blended[k].excluded[i] !== bruteRank(p, l, targets[i], weights[k], 0, 5, true)) differs++;
      }
    }
    expect(differs).toBeGreaterThan(10);
  });

  it("refuses a penalty without one hub value per stored row", () => {
    const targets = Int32Array.of(10);
    const q = vectors.slice(10 * store.dim, 11 * store.dim);
    expect(() => rankTargets(index, q, targets, 5, { last: q, weights: [0.3], hubWeights: [0.5], hubness: new Float32Array(3) })).toThrow(
      /700 hub values/,
    );
  });
});
