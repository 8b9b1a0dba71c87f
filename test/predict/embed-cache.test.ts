import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddingCache } from "../../src/encoders/cached-encoder.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { nextConcepts } from "../../src/predict/next.ts";
import { embedRequestTexts, searchConcepts } from "../../src/predict/search.ts";
import type { PredictDeps } from "../../src/predict/types.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// The service's embedding paths: a stored concept's text takes the stored vector (no encoder call), the rest
// go through the runtime's LRU (src/encoders/cached-encoder.ts), so a sliding window pays for one text.
let store: ConceptStore;
let cleanup: () => Promise<void>;
let calls: string[][];
let cache: EmbeddingCache;
let deps: PredictDeps;

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(dir.path, "store")));
});
afterAll(() => cleanup?.());

function freshDeps() {
  calls = [];
  // New texts embed to a stored row's vector picked by their length, so results are well defined.
  const encoder: Encoder = {
    id: store.encoder.id,
    dim: store.dim,
    embed: async (texts) => {
      calls.push([...texts]);
      const out = new Float32Array(texts.length * store.dim);
      for (const [i, t] of texts.entries()) out.set(store.vector(t.length % store.count), i * store.dim);
      return out;
    },
  };
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  cache = new EmbeddingCache();
  const wrapped = cache.wrap(encoder);
  deps = { store, exactIndex: referenceIndex(store.vectors, store.dim), models, encoder: async () => wrapped, embedCache: cache };
}

const texts = (first: number, n = 5) => Array.from({ length: n }, (_, i) => store.text(first + i));

describe("embedding cache in the prediction service", () => {
  it("a context of stored paragraphs embeds nothing and uses the stored vectors (rows excluded)", async () => {
    freshDeps();
    const byText = await nextConcepts(deps, { context: texts(100), k: 5, model: "copy-last" });
    expect(calls).toEqual([]);
    expect(byText.timings.embedMs).toBeUndefined();
    const byRow = await nextConcepts(deps, { context: [100, 101, 102, 103, 104].map((row) => ({ row })), k: 5, model: "copy-last" });
    expect(byText.results.map((r) => r.row)).toEqual(byRow.results.map((r) => r.row));
    expect(byText.results.map((r) => r.row)).not.toContain(104);
    expect(cache.stats()).toMatchObject({ storedHits: 5, lruHits: 0, misses: 0 });
  });

  it("a sliding window of new texts embeds exactly one new text per request", async () => {
    freshDeps();
    const fresh = Array.from({ length: 9 }, (_, i) => `a sentence nobody stored, number ${i}${"!".repeat(i)}`);
    await nextConcepts(deps, { context: fresh.slice(0, 5), k: 3, model: "copy-last" });
    expect(calls).toEqual([fresh.slice(0, 5)]);
    for (let start = 1; start <= 4; start++) {
      await nextConcepts(deps, { context: fresh.slice(start, start + 5), k: 3, model: "copy-last" });
      expect(calls[start]).toEqual([fresh[start + 4]]);
    }
    expect(calls).toHaveLength(5);
    expect(cache.stats()).toMatchObject({ storedHits: 0, lruHits: 16, misses: 9 });
  });

  it("a mixed context embeds only its new text; /v1/search and /v1/embed skip stored texts too", async () => {
    freshDeps();
    await nextConcepts(deps, { context: [...texts(10, 4), "one new sentence"], k: 3, model: "copy-last" });
    expect(calls).toEqual([["one new sentence"]]);
    const search = await searchConcepts(deps, { text: store.text(42), k: 1 });
    expect(search.results[0].row).toBe(42);
    expect(search.timings.embedMs).toBeUndefined();
    const embedded = await embedRequestTexts(deps, [store.text(7), "one new sentence"]);
    expect(Array.from(embedded.vectors.subarray(0, store.dim))).toEqual(Array.from(store.vector(7)));
    expect(calls).toHaveLength(1); // the new sentence came from the LRU
    expect(cache.stats()).toMatchObject({ storedHits: 6, lruHits: 1, misses: 1 });
  });
});
