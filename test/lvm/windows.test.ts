import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  documentsFingerprint,
  documentsForEvaluation,
  gatherContexts,
  splitDocuments,
  splitRecord,
  storeChangeSinceSplit,
  type WindowSource,
  windowTargets,
} from "../../src/lvm/windows.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore } from "./mini-store.ts";

const tiny: WindowSource = {
  dim: 1,
  vectors: Float32Array.from({ length: 20 }, (_, i) => i),
  documents: [
    { id: "a", first: 0, count: 7 },
    { id: "b", first: 7, count: 5 },
    { id: "c", first: 12, count: 8 },
  ],
};

describe("windows", () => {
  it("are 5 consecutive concepts of one document predicting the 6th", () => {
    expect(Array.from(windowTargets(tiny, [0, 1, 2], 5))).toEqual([5, 6, 17, 18, 19]);
    expect(Array.from(gatherContexts(tiny, Int32Array.of(6, 17), 5))).toEqual([1, 2, 3, 4, 5, 12, 13, 14, 15, 16]);
  });

  let store: ConceptStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const built = await buildMiniStore();
    cleanup = built.cleanup;
    store = await readStore(built.dir);
  });
  afterAll(async () => cleanup());

  it("never cross a document boundary on the mini store", () => {
    const all = store.documents.map((_, i) => i);
    const targets = windowTargets(store, all, 5);
    expect(targets.length).toBe(store.documents.reduce((n, d) => n + Math.max(0, d.count - 5), 0));
    for (const t of targets) {
      const doc = store.documentIndex(t);
      for (let r = t - 5; r < t; r++) expect(store.documentIndex(r)).toBe(doc);
      expect(store.position(t)).toBeGreaterThanOrEqual(5);
    }
  });

  it("split is article-disjoint, complete, 80/10/10 and fixed by the seed", () => {
    const n = store.documents.length;
    const split = splitDocuments(n, 1);
    const all = [...split.train, ...split.val, ...split.test];
    expect(new Set(all).size).toBe(n);
    expect(all.length).toBe(n);
    expect(split.train.length).toBe(Math.round(0.8 * n));
    expect(split.val.length).toBe(Math.round(0.1 * n));
    expect(splitDocuments(n, 1)).toEqual(split);
    expect(splitDocuments(n, 2)).not.toEqual(split);
    const trainRows = new Set(Array.from(windowTargets(store, split.train, 5)).flatMap((t) => [t - 5, t - 4, t - 3, t - 2, t - 1, t]));
    for (const t of windowTargets(store, split.test, 5)) for (let r = t - 5; r <= t; r++) expect(trainRows.has(r)).toBe(false);
  });

  it("evaluation uses the saved test documents, or every unseen document on another store", () => {
    const split = splitDocuments(store.documents.length, 3);
    const record = splitRecord(store, split, 3);
    expect(documentsForEvaluation(store, record, "test")).toEqual({ documents: split.test, sameStore: true });
    // Another store holding none of the test documents: its documents the model was trained or tuned on
    // (a training and a validation article, at indices 1 and 3) are left out, the unseen ones kept.
    const seenTrain = store.documents[split.train[0]].id;
    const seenVal = store.documents[split.val[0]].id;
    expect(tiny.documents.map((d) => d.id).some((id) => id === seenTrain || id === seenVal)).toBe(false);
    const other: WindowSource = {
      ...tiny,
      documents: [tiny.documents[0], { id: seenTrain, first: 7, count: 5 }, tiny.documents[2], { id: seenVal, first: 0, count: 7 }],
    };
    expect(documentsForEvaluation(other, record, "test")).toEqual({ documents: [0, 2], sameStore: false });
    expect(documentsForEvaluation(other, record, "val")).toEqual({ documents: [3], sameStore: true });
  });

  it("the split records the store's documents, and a changed store is named", () => {
    const record = splitRecord(store, splitDocuments(store.documents.length, 1), 1);
    expect(record.storeDocuments).toBe(store.documents.length);
    expect(record.documentsFnv1a).toBe(documentsFingerprint(store));
    expect(storeChangeSinceSplit(store, record)).toBeNull();
    const grown = { documents: [...store.documents, { id: "new", first: store.count, count: 8 }] };
    expect(storeChangeSinceSplit(grown, record)).toMatch(/made from 147 documents, the store now holds 148/);
    const reordered = { documents: [store.documents[1], store.documents[0], ...store.documents.slice(2)] };
    expect(storeChangeSinceSplit(reordered, record)).toMatch(/document ids differ/);
    // A record from before the fingerprint: only the count is checked.
    expect(storeChangeSinceSplit(reordered, { ...record, documentsFnv1a: undefined })).toBeNull();
  });
});
