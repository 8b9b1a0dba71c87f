import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { hubnessForStore, type StoreHubness } from "../../src/index/hubness.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { type LvmModel, ModelRegistry } from "../../src/lvm/registry.ts";
import { generateChain } from "../../src/predict/generate.ts";
import { nextConcepts } from "../../src/predict/next.ts";
import type { PredictDeps } from "../../src/predict/types.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// Serving a model with a hubness penalty (model.json retrieval.hubness): /v1/next and /v1/generate rank the
// stored concepts by cosine - weight * hub, on every exact index, and plain cosine without one.
let store: ConceptStore;
let hubness: StoreHubness;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(dir.path, "store")));
  // The core's values (the reference's count^2 loop takes ~15 s here; test/index/hubness.test.ts checks they agree).
  const index = new CoreIndex(await loadCore(), store);
  hubness = hubnessForStore(store, index);
  index.dispose();
});
afterAll(() => cleanup?.());

/** A model predicting the mean of the context (so answers are fixed), with or without a penalty. */
function meanModel(name: string, weight?: number): LvmModel {
  const [mean] = baselineModels(store.dim, store.encoder.id).filter((m) => m.name === "mean-context");
  return { ...mean, name, arch: "gru", ...(weight === undefined ? {} : { hubness: { neighbours: 10, weight } }) };
}

function deps(extra: Partial<PredictDeps> = {}): PredictDeps {
  const models = new ModelRegistry();
  models.add(meanModel("plain"), { isDefault: true });
  models.add(meanModel("penalised", 0.8));
  return { store, exactIndex: referenceIndex(store.vectors, store.dim), models, hubness, ...extra };
}

/** Brute force: rows not in `skip`, ranked by cosine - weight * hub. */
function expected(query: Float32Array, k: number, weight: number, skip: Set<number>): number[] {
  const scored: { row: number; score: number }[] = [];
  for (let row = 0; row < store.count; row++) {
    if (skip.has(row)) continue;
    let s = 0;
    for (let j = 0; j < store.dim; j++) s += store.vectors[row * store.dim + j] * query[j];
    scored.push({ row, score: Math.fround(s) - weight * hubness.values[row] });
  }
  scored.sort((a, b) => b.score - a.score || a.row - b.row);
  return scored.slice(0, k).map((s) => s.row);
}

const context = (first: number) => Array.from({ length: 5 }, (_, i) => ({ row: first + i }));
const contextRows = (first: number) => new Set(Array.from({ length: 5 }, (_, i) => first + i));

describe("serving a model with a hubness penalty", () => {
  it("/v1/next ranks by the penalised score with the model's weight, plain cosine without one", async () => {
    const d = deps();
    let differ = 0;
    for (const first of [0, 40, 120, 300, 500, 700]) {
      const plain = await nextConcepts(d, { context: context(first), k: 10, model: "plain" });
      const penalised = await nextConcepts(d, { context: context(first), k: 10, model: "penalised" });
      expect(plain.results.map((r) => r.row)).toEqual(expected(plain.predicted, 10, 0, contextRows(first)));
      expect(penalised.results.map((r) => r.row)).toEqual(expected(penalised.predicted, 10, 0.8, contextRows(first)));
      if (plain.results.map((r) => r.row).join() !== penalised.results.map((r) => r.row).join()) differ++;
      // Scores stay cosines; rankScore is what the results are ordered by (only with a penalty).
      expect(plain.results.every((r) => r.rankScore === undefined)).toBe(true);
      for (const [i, r] of penalised.results.entries()) {
        expect(r.rankScore).toBeCloseTo(r.score - 0.8 * hubness.values[r.row], 5);
        if (i > 0) expect(r.rankScore!).toBeLessThanOrEqual(penalised.results[i - 1].rankScore!);
      }
    }
    expect(differ).toBeGreaterThan(2);
  });

  it("the core index answers like the reference index", async () => {
    const index = new CoreIndex(await loadCore(), store);
    try {
      const onCore = deps({ exactIndex: Object.assign(index, { kind: "exact-core" }) });
      for (const first of [10, 200, 600]) {
        const a = await nextConcepts(onCore, { context: context(first), k: 10, model: "penalised" });
        const b = await nextConcepts(deps(), { context: context(first), k: 10, model: "penalised" });
        expect(a.results.map((r) => r.row)).toEqual(b.results.map((r) => r.row));
      }
    } finally {
      index.dispose();
    }
  });

  it("/v1/generate takes the best unused concept by the penalised score", async () => {
    const chain = await generateChain(deps(), { context: context(100), steps: 3, model: "penalised", stopCosine: 1.01 });
    const first = expected(
      (await nextConcepts(deps(), { context: context(100), k: 1, model: "penalised" })).predicted,
      1,
      0.8,
      contextRows(100),
    );
    expect(chain.steps[0].row).toBe(first[0]);
    expect(new Set(chain.steps.map((s) => s.row)).size).toBe(3);
  });

  it("a runtime without the store's values serves plain cosine; /v1/models shows the setting", async () => {
    const without = deps({ hubness: undefined });
    const a = await nextConcepts(without, { context: context(40), k: 10, model: "penalised" });
    expect(a.results.map((r) => r.row)).toEqual(expected(a.predicted, 10, 0, contextRows(40)));
    const app = createApp(deps() as Parameters<typeof createApp>[0]);
    const body = (await (await app.request("/v1/models")).json()) as { models: { name: string; hubness?: unknown }[] };
    expect(body.models.find((m) => m.name === "penalised")?.hubness).toEqual({ neighbours: 10, weight: 0.8 });
    expect(body.models.find((m) => m.name === "plain")?.hubness).toBeUndefined();
    const next = async (model: string) =>
      (await (
        await app.request("/v1/next", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ context: context(40), k: 3, model }),
        })
      ).json()) as { results: { score: number; rankScore?: number }[] };
    expect((await next("penalised")).results.every((r) => typeof r.rankScore === "number")).toBe(true);
    expect((await next("plain")).results.every((r) => !("rankScore" in r))).toBe(true);
  });
});
