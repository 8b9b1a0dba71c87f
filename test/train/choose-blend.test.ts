// chooseBlend's sweep over blend weight x hubness penalty weight, on a fixture where a cluster of near-
// duplicate "hub" rows outranks every target under plain cosine and the penalty demotes them.
import { beforeAll, describe, expect, it } from "vitest";
import { createRetrievalIndex } from "../../src/eval/retrieval.ts";
import { hubnessReference } from "../../src/index/hubness.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { windowTargets } from "../../src/lvm/windows.ts";
import type { TrainingSource } from "../../src/train/training-source.ts";
import { chooseBlend, retrievalSettings } from "../../src/train/validate.ts";
import { randomUnitRows } from "../lvm/mini-store.ts";

const dim = 16;
const HUBS = 11;
// Documents a, b, c of random unit rows, then one document of 11 near-copies of a hub direction H.
const base = randomUnitRows(60, dim, 42);
const hub = randomUnitRows(1, dim, 7);
const jitter = randomUnitRows(HUBS, dim, 9);
const hubRows = new Float32Array(HUBS * dim);
for (let r = 0; r < HUBS; r++) {
  const row = hubRows.subarray(r * dim, (r + 1) * dim);
  for (let d = 0; d < dim; d++) row[d] = hub[d] + 0.02 * jitter[r * dim + d];
  const n = Math.hypot(...row);
  for (let d = 0; d < dim; d++) row[d] /= n;
}
const vectors = new Float32Array((60 + HUBS) * dim);
vectors.set(base);
vectors.set(hubRows, 60 * dim);
const source: TrainingSource = {
  dim,
  count: 60 + HUBS,
  vectors,
  documents: [
    { id: "a", first: 0, count: 20 },
    { id: "b", first: 20, count: 25 },
    { id: "c", first: 45, count: 15 },
    { id: "hubs", first: 60, count: HUBS },
  ],
};
const targets = windowTargets(source, [0, 1, 2], 5);
// Each prediction leans towards H more than towards its target: plain cosine puts the hub rows first.
const predictions = new Float32Array(targets.length * dim);
targets.forEach((t, i) => {
  const row = predictions.subarray(i * dim, (i + 1) * dim);
  for (let d = 0; d < dim; d++) row[d] = vectors[t * dim + d] + 1.2 * hub[d];
  const n = Math.hypot(...row);
  for (let d = 0; d < dim; d++) row[d] /= n;
});

beforeAll(async () => {
  await initLvmBackend();
});

describe("chooseBlend with a hubness grid", () => {
  it("chooses a penalty where it helps, and records the whole sweep", () => {
    const index = createRetrievalIndex(vectors, dim);
    try {
      const hubness = hubnessReference(vectors, dim, 10);
      const chosen = chooseBlend(source, index, predictions, targets, 5, [0, 0.5], { values: hubness, grid: [0, 0.5, 1] });
      expect(chosen.sweep.map((s) => [s.lastWeight, s.hubnessWeight])).toEqual([
        [0, 0],
        [0.5, 0],
        [0, 0.5],
        [0.5, 0.5],
        [0, 1],
        [0.5, 1],
      ]);
      const plain = chosen.sweep.find((s) => s.lastWeight === 0 && s.hubnessWeight === 0)!;
      expect(plain["r@1"]).toBe(0); // the premise: the hub rows come first
      expect(chosen.hubnessWeight).toBeGreaterThan(0);
      const best = chosen.sweep.find((s) => s.lastWeight === chosen.lastWeight && s.hubnessWeight === chosen.hubnessWeight)!;
      expect(best["r@1"]).toBeGreaterThan(50);
      expect(chosen.score).toBeCloseTo((best["r@1"] + best["r@5"] + best["r@10"] + best["r@20"]) / 4, 9);
      expect(retrievalSettings(chosen.hubnessWeight)).toEqual({ retrieval: { hubness: { neighbours: 10, weight: chosen.hubnessWeight } } });

      // Without a hubness grid: the plain blend sweep, no penalty, nothing written to model.json.
      const none = chooseBlend(source, index, predictions, targets, 5, [0, 0.5]);
      expect(none.hubnessWeight).toBe(0);
      expect(none.sweep.map((s) => s.hubnessWeight)).toEqual([0, 0]);
      expect(retrievalSettings(none.hubnessWeight)).toEqual({});
    } finally {
      index.dispose();
    }
  });
});
