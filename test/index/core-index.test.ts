import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { exactSearch } from "../../src/index/exact.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

let store: ConceptStore;
beforeAll(async () => {
  await using dir = await tempDir();
  store = await readStore(await buildMiniStore(dir.path));
});

describe.each(["relaxed", "simd"] as const)("CoreIndex on core-%s (INT8 short list + f32 rescoring) vs exactSearch", (variant) => {
  let index: CoreIndex;
  beforeAll(async () => {
    index = new CoreIndex(await loadCore(variant), store);
    expect(index.scan).toBe(variant);
  });

  it("returns the same top-20 rows and scores as the reference for 200 real queries", () => {
    for (let i = 0; i < 200; i++) {
      const row = (i * 31) % store.count;
      // A query that is not a stored row: the mean of two neighbouring paragraphs.
      const q = new Float32Array(512);
      for (let j = 0; j < 512; j++) q[j] = store.vectors[row * 512 + j] + store.vectors[((row + 1) % store.count) * 512 + j];
      const n = Math.hypot(...q);
      for (let j = 0; j < 512; j++) q[j] /= n;
      const ours = index.search(q, 20);
      const ref = exactSearch(store.vectors, 512, q, 20);
      expect(Array.from(ours.rows)).toEqual(Array.from(ref.rows));
      expect(Array.from(ours.scores)).toEqual(Array.from(ref.scores));
    }
  });

  it("never returns excluded rows, and batches answer like single queries", () => {
    const nq = 8;
    const queries = store.vectors.slice(100 * 512, (100 + nq) * 512);
    const exclude = Array.from({ length: nq }, (_, i) => new Set([100 + i, 101 + i, 102 + i, 103 + i, 104 + i]));
    const batch = index.searchBatch(queries, nq, 10, exclude);
    for (let i = 0; i < nq; i++) {
      const q = queries.subarray(i * 512, (i + 1) * 512);
      expect(batch[i].rows.some((r) => exclude[i].has(r))).toBe(false);
      expect(Array.from(batch[i].rows)).toEqual(Array.from(exactSearch(store.vectors, 512, q, 10, exclude[i]).rows));
      expect(Array.from(index.search(q, 10, exclude[i]).rows)).toEqual(Array.from(batch[i].rows));
    }
  });
});
