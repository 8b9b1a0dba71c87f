import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { type CosineSearch, hubnessFromIndex, hubnessReference, penalisedSearch, type StoreHubness } from "../../src/index/hubness.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

describe("hubnessReference", () => {
  it("is each row's mean cosine to its nearest other rows (hand-computed)", () => {
    // Unit rows in 2-D at angles 0, 60 and 90 degrees: cosines 0.5 (0-60), 0 (0-90), cos 30 (60-90).
    const c30 = Math.cos(Math.PI / 6);
    const v = Float32Array.from([1, 0, 0.5, c30, 0, 1]);
    const one = hubnessReference(v, 2, 1);
    expect(Array.from(one.values)).toEqual([0.5, Math.fround(c30), Math.fround(c30)].map(Math.fround));
    const two = hubnessReference(v, 2, 2);
    expect(two.values[0]).toBeCloseTo(0.25, 6);
    expect(two.values[1]).toBeCloseTo((0.5 + c30) / 2, 6);
    expect(two.values[2]).toBeCloseTo(c30 / 2, 6);
    expect(two.min).toBeCloseTo(0.25, 6);
  });
});

let store: ConceptStore;
let reference: StoreHubness;
beforeAll(async () => {
  await using dir = await tempDir();
  store = await readStore(await buildMiniStore(dir.path));
  reference = hubnessReference(store.vectors.subarray(0, 600 * store.dim), store.dim, 10);
});

/** Brute force: every row scored, the penalised order, cosines returned. */
function bruteForce(query: Float32Array, k: number, hub: StoreHubness, weight: number, exclude: Set<number>) {
  const rows = Array.from({ length: hub.values.length }, (_, r) => r).filter((r) => !exclude.has(r));
  const cos = (r: number) => {
    let s = 0;
    for (let j = 0; j < store.dim; j++) s += store.vectors[r * store.dim + j] * query[j];
    return Math.fround(s);
  };
  const scored = rows.map((r) => ({ r, c: cos(r), p: cos(r) - weight * hub.values[r] }));
  scored.sort((a, b) => b.p - a.p || a.r - b.r);
  return scored.slice(0, k).map((s) => s.r);
}

describe("hubness on the core and penalised search", () => {
  it("the core index computes the reference's values (INT8 short list, float rescoring)", async () => {
    const vectors = store.vectors.subarray(0, 600 * store.dim);
    const index = new CoreIndex(await loadCore(), {
      ...store,
      count: 600,
      vectors,
      int8: store.int8.subarray(0, 600 * store.dim),
      scales: store.scales.subarray(0, 600),
    });
    try {
      const fast = hubnessFromIndex(index, vectors, store.dim, 10);
      for (let r = 0; r < 600; r++) expect(fast.values[r]).toBeCloseTo(reference.values[r], 5);
    } finally {
      index.dispose();
    }
  });

  it("equals brute force over an exact index, growing its short list when the penalty needs it", async () => {
    const dim = store.dim;
    const vectors = store.vectors.subarray(0, 600 * dim);
    let asked = 0;
    const exact: CosineSearch = {
      search: (q, k, exclude) => {
        asked = Math.max(asked, k);
        return exactSearch(vectors, dim, q, k, exclude);
      },
    };
    for (const weight of [0, 0.5, 2]) {
      for (let i = 0; i < 40; i++) {
        const row = 5 + ((i * 37) % 590);
        const q = vectors.slice(row * dim, (row + 1) * dim);
        const exclude = new Set([row, row - 1, row - 2]);
        const ours = await penalisedSearch(exact, 600, q, 5, { hubness: reference, weight }, exclude);
        expect(Array.from(ours.rows)).toEqual(bruteForce(q, 5, reference, weight, exclude));
        // Scores are the cosines of the returned rows.
        const all = exactSearch(vectors, dim, q, 600);
        const cosine = new Map(Array.from(all.rows, (r, i) => [r, all.scores[i]]));
        for (const [h, r] of ours.rows.entries()) expect(ours.scores[h]).toBe(cosine.get(r));
      }
    }
    // A heavy penalty reorders beyond the first short list (4k + 64 + excluded = 87 rows): the list grew.
    expect(asked).toBeGreaterThan(87);
  });

  it("changes the answer: the penalty demotes rows with high hubness", async () => {
    const dim = store.dim;
    const vectors = store.vectors.subarray(0, 600 * dim);
    const exact: CosineSearch = { search: (q, k, exclude) => exactSearch(vectors, dim, q, k, exclude) };
    let changed = 0;
    for (let row = 0; row < 600; row += 20) {
      const q = vectors.slice(row * dim, (row + 1) * dim);
      const plain = await penalisedSearch(exact, 600, q, 5, { hubness: reference, weight: 0 }, new Set([row]));
      const heavy = await penalisedSearch(exact, 600, q, 5, { hubness: reference, weight: 1 }, new Set([row]));
      expect(Array.from(plain.rows)).toEqual(Array.from(exactSearch(vectors, dim, q, 5, new Set([row])).rows));
      if (Array.from(plain.rows).join() !== Array.from(heavy.rows).join()) changed++;
    }
    expect(changed).toBeGreaterThan(5);
  });

  it.each(["relaxed", "simd"] as const)("on the %s core, penalisedSearch over CoreIndex equals brute force", async (variant) => {
    const dim = store.dim;
    const n = 600;
    const vectors = store.vectors.subarray(0, n * dim);
    const index = new CoreIndex(await loadCore(variant), {
      count: n,
      dim,
      vectors,
      int8: store.int8.subarray(0, n * dim),
      scales: store.scales.subarray(0, n),
    });
    try {
      // One scan on the relaxed core; the plain-SIMD core has none and the short list grows instead.
      expect(index.searchPenalised(vectors.subarray(0, dim), 5, { values: reference.values, weight: 1 }) === undefined).toBe(
        variant === "simd",
      );
      for (const weight of [0.5, 2]) {
        for (let i = 0; i < 30; i++) {
          const row = 5 + ((i * 41) % 590);
          const q = vectors.slice(row * dim, (row + 1) * dim);
          const exclude = new Set([row, row - 1]);
          const ours = await penalisedSearch(index, n, q, 10, { hubness: reference, weight }, exclude);
          expect(Array.from(ours.rows)).toEqual(bruteForce(q, 10, reference, weight, exclude));
        }
      }
    } finally {
      index.dispose();
    }
  });

  it("over an approximate index it re-ranks one short list of max(ef, 4k + 64 + excluded) rows", async () => {
    const dim = store.dim;
    const vectors = store.vectors.subarray(0, 600 * dim);
    const asked: number[] = [];
    const approximate: CosineSearch = {
      search: (q, k, exclude) => {
        asked.push(k);
        return exactSearch(vectors, dim, q, k, exclude);
      },
    };
    const q = vectors.slice(0, dim);
    await penalisedSearch(approximate, 600, q, 5, { hubness: reference, weight: 2 }, new Set([0]), 200, false);
    expect(asked).toEqual([200]);
    asked.length = 0;
    await penalisedSearch(approximate, 600, q, 5, { hubness: reference, weight: 2 }, new Set([0]), undefined, false);
    expect(asked).toEqual([85]);
  });
});
