import { describe, expect, it } from "vitest";
import { createRng } from "../../src/lvm/rng.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { buildBatch, NegativeQueue, trainRows } from "../../src/train/batches.ts";
import type { TrainOptions } from "../../src/train/options.ts";

// 4 documents of 12 concepts, dim 4; coordinate 0 of each vector is its row, so a candidate column names its row.
const dim = 4;
const docs = [0, 1, 2, 3].map((d) => ({ id: `d${d}`, first: d * 12, count: 12 }));
const vectors = new Float32Array(48 * dim);
for (let r = 0; r < 48; r++) [vectors[r * dim], vectors[r * dim + 1 + (r % 3)]] = [r, 1];
const store = { dim, vectors, documents: docs, count: 48 } as unknown as ConceptStore;
const context = 5;
const trainDocs = [0, 1, 2]; // document 3 plays validation: never a negative
const data = trainRows(store, trainDocs);
const docOf = (row: number) => Math.floor(row / 12);
const options = (over: Partial<TrainOptions> = {}) =>
  ({ loss: { infonce: 1, mse: 0, cosine: 0 }, negatives: 300, hardNegatives: true, ...over }) as TrainOptions;
// Windows: a target early in its document (no row before the context), in the middle, and the last one.
const targets = Int32Array.of(5, 18, 23, 30);

function columns(batch: ReturnType<typeof buildBatch>) {
  const { C, candidates, rows } = batch;
  if (!candidates || !rows) throw new Error("no InfoNCE candidates");
  // Every column holds its row's vector.
  for (let j = 0; j < C; j++) expect(candidates[0 * C + j]).toBe(rows[j]);
  return Array.from(rows);
}

describe("InfoNCE batch: the negatives pool", () => {
  it("holds the batch's targets (in-batch), the same-article hard negatives and training concepts only", () => {
    const batch = buildBatch(store, targets, context, options(), data, createRng(1));
    const rows = columns(batch);
    expect(new Set(rows).size).toBe(rows.length); // unique rows
    for (const t of targets) expect(rows).toContain(t);
    // Hard negatives: the concept after the target and the one before the context, in the same article.
    for (const r of [6, 19, 24, 12, 17, 31, 24]) expect(rows).toContain(r);
    expect(rows.every((r) => trainDocs.includes(docOf(r)))).toBe(true);
    // 300 draws over 36 training concepts take every one of them, so the context rows are among the columns.
    expect(rows.length).toBe(36);
  });

  it("labels each window's target; its own context rows are masked, so neither is ever one of its negatives", () => {
    const batch = buildBatch(store, targets, context, options(), data, createRng(2));
    const rows = columns(batch);
    const { C, labels, mask } = batch as { C: number; labels: Float32Array; mask: Float32Array };
    targets.forEach((t, i) => {
      const negatives = rows.filter((_, j) => labels[i * C + j] === 0 && mask[i * C + j] === 0);
      for (let r = t - context; r <= t; r++) expect(negatives).not.toContain(r);
      expect(rows.filter((_, j) => labels[i * C + j] === 1)).toEqual([t]);
      // Masked are exactly the context rows (no queue here): other targets and the hard negatives stay negatives.
      expect(rows.filter((_, j) => mask[i * C + j] !== 0).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4].map((k) => t - context + k));
      for (const other of targets) if (other !== t && (other < t - context || other > t)) expect(negatives).toContain(other);
    });
  });

  it("article negatives: draws from each window's own article, outside its context and target, every such row", () => {
    const drawn = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const batch = buildBatch(
        store,
        Int32Array.of(18),
        context,
        options({ hardNegatives: false, negatives: 0, articleNegatives: 3 }),
        data,
        createRng(seed),
      );
      const rows = columns(batch);
      expect(rows[0]).toBe(18);
      expect(rows.length).toBeLessThanOrEqual(4);
      for (const r of rows.slice(1)) drawn.add(r);
    }
    // Document 1 holds rows 12..23; the window is 13..17 -> 18.
    expect([...drawn].sort((a, b) => a - b)).toEqual([12, 19, 20, 21, 22, 23]);
    // A window at the start of its article: the rows after its target only; none beyond the article.
    const early = columns(
      buildBatch(
        store,
        Int32Array.of(5),
        context,
        options({ hardNegatives: false, negatives: 0, articleNegatives: 50 }),
        data,
        createRng(9),
      ),
    );
    expect(early.slice(1).every((r) => r >= 6 && r <= 11)).toBe(true);
    expect(new Set(early.slice(1)).size).toBeGreaterThan(3);
  });

  it("without hard negatives and with few samples: the targets plus the samples", () => {
    const batch = buildBatch(store, targets, context, options({ hardNegatives: false, negatives: 0 }), data, createRng(3));
    expect(columns(batch)).toEqual(Array.from(targets));
  });
});

describe("the queue of recent targets", () => {
  it("keeps the newest rows up to its capacity, oldest first", () => {
    const q = new NegativeQueue(3);
    expect(Array.from(q.rows())).toEqual([]);
    q.push([1, 2]);
    expect(Array.from(q.rows())).toEqual([1, 2]);
    q.push([3, 4]);
    expect(Array.from(q.rows())).toEqual([2, 3, 4]);
    const off = new NegativeQueue(0);
    off.push([1]);
    expect(Array.from(off.rows())).toEqual([]);
  });

  it("adds its rows as negatives, masking for each window the queue-only rows of its own article", () => {
    const q = new NegativeQueue(8);
    // 7, 11: article 0 (window 5's own article, not its context); 14: article 1 (window 18's); 41: article 3;
    // 19: already window 18's hard negative, so it stays a negative for it.
    q.push([7, 11, 14, 41, 19]);
    const batch = buildBatch(store, targets, context, options({ negatives: 0 }), data, createRng(4), q);
    const rows = columns(batch);
    const { C, mask, labels } = batch as { C: number; mask: Float32Array; labels: Float32Array };
    for (const r of [7, 11, 14, 41]) expect(rows).toContain(r);
    const negativesOf = (i: number) => rows.filter((_, j) => labels[i * C + j] === 0 && mask[i * C + j] === 0);
    expect(negativesOf(0)).not.toContain(7);
    expect(negativesOf(0)).not.toContain(11);
    expect(negativesOf(0)).toContain(14);
    expect(negativesOf(0)).toContain(41);
    expect(negativesOf(1)).not.toContain(14);
    expect(negativesOf(1)).toContain(19);
    expect(negativesOf(1)).toContain(7);
    for (let i = 0; i < targets.length; i++) expect(negativesOf(i)).toContain(41);
  });
});
