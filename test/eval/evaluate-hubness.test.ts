// `lvm eval` on a model with a hubness penalty: the model's rows are ranked with the penalty, copy-last and
// mean-of-context stay plain, and copyLastHubness (copy-last with the same penalty) is added beside them.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate, jsonSummary } from "../../src/eval/evaluate.ts";
import { markdownReport, replotReport, writeReport } from "../../src/eval/report.ts";
import { createRetrievalIndex, storeHubnessTf, summarizeRanks } from "../../src/eval/retrieval.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { penalisedSearch } from "../../src/index/hubness.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { splitDocuments, windowTargets } from "../../src/lvm/windows.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore } from "../lvm/mini-store.ts";
import { writeCopyLastModel } from "./copy-model.ts";

let storeDir = "";
let root = "";
let cleanup: () => Promise<void>;
let plainDir = "";
let hubDir = "";
const WEIGHT = 0.5;
beforeAll(async () => {
  const built = await buildMiniStore();
  [storeDir, root, cleanup] = [built.dir, built.root, built.cleanup];
  const store = await readStore(storeDir);
  // A model predicting exactly copy-last; one copy of it carries a hubness penalty, so its model row must be
  // copy-last ranked with that penalty.
  plainDir = join(root, "copy-plain");
  hubDir = join(root, "copy-hubness");
  await writeCopyLastModel(plainDir, store);
  await writeCopyLastModel(hubDir, store, { retrieval: { hubness: { neighbours: 10, weight: WEIGHT } } });
});
afterAll(async () => cleanup());

const recall = ({ cosine: _, ...rest }: { cosine: number }) => rest;

describe("lvm eval with a hubness penalty", () => {
  it("ranks the model with the penalty, keeps the baselines plain, and adds copyLastHubness with its paired difference", async () => {
    const options = {
      store: storeDir,
      rolloutSteps: 2,
      rolloutWindows: 10,
      maxWindows: 0,
      exact: true,
      bootstrap: { resamples: 200, seed: 1, level: 0.95 },
    };
    const [plain, hub] = [await evaluate({ ...options, models: [plainDir] }), await evaluate({ ...options, models: [hubDir] })];
    const m = hub.models[0];
    expect(m.hubness).toEqual({ neighbours: 10, weight: WEIGHT });
    expect(plain.models[0].hubness).toBeNull();
    // Copy-last and mean-of-context are as without the penalty.
    expect(hub.baselines.copyLast).toEqual(plain.baselines.copyLast);
    expect(hub.baselines.meanContext).toEqual(plain.baselines.meanContext);
    expect(plain.baselines.copyLastHubness).toBeUndefined();
    // The model predicts copy-last: its row is copy-last with the penalty, which differs from plain copy-last.
    const clh = m.baselines?.copyLastHubness;
    expect(clh).toBeDefined();
    expect(recall(m.test.excluded)).toEqual(recall(clh!.excluded));
    expect(recall(plain.models[0].test.excluded)).toEqual(recall(plain.baselines.copyLast.excluded));
    expect(recall(clh!.excluded)).not.toEqual(recall(hub.baselines.copyLast.excluded));
    expect(m.intervals?.copyLastHubness).toEqual(m.intervals?.model);
    expect(m.intervals?.copyLastHubnessDifference?.["r@5"]).toEqual([0, 0]);
    expect(plain.models[0].intervals?.copyLastHubness).toBeNull();

    // copyLastHubness by brute force: penalisedSearch over an exact index, hub values of the whole store.
    await initLvmBackend();
    const store = await readStore(storeDir);
    const index = createRetrievalIndex(store.vectors, store.dim);
    const hubness = storeHubnessTf(index, store.vectors, 10);
    index.dispose();
    const targets = windowTargets(store, splitDocuments(store.documents.length, 1).test, 5);
    const exact = { search: (q: Float32Array, k: number, ex?: ReadonlySet<number>) => exactSearch(store.vectors, store.dim, q, k, ex) };
    const ranks = new Int32Array(targets.length);
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      const q = store.vectors.subarray((t - 1) * store.dim, t * store.dim);
      const hits = await penalisedSearch(
        exact,
        store.count,
        q,
        20,
        { hubness, weight: WEIGHT },
        new Set([t - 5, t - 4, t - 3, t - 2, t - 1]),
      );
      const at = hits.rows.indexOf(t);
      ranks[i] = at >= 0 ? at + 1 : store.count;
    }
    const brute = summarizeRanks(ranks);
    for (const k of ["r@1", "r@5", "r@10", "r@20"] as const) expect(clh!.excluded[k]).toBeCloseTo(brute[k], 9);

    // --json: the existing keys keep their shape; copyLastHubness and its intervals only with a penalty.
    const json = jsonSummary(hub) as Record<string, Record<string, unknown>>;
    expect(Object.keys(json.copyLastHubness)).toEqual(Object.keys(json.copyLast));
    expect(json.intervals.copyLastHubnessDifference).toEqual(m.intervals?.copyLastHubnessDifference);
    expect(json.contextIncluded.copyLastHubness).toBeDefined();
    const plainJson = jsonSummary(plain) as Record<string, Record<string, unknown>>;
    expect(plainJson.copyLastHubness).toBeUndefined();
    expect(Object.keys(plainJson.intervals)).toEqual([
      "resamples",
      "seed",
      "level",
      "articles",
      "unit",
      "model",
      "copyLast",
      "meanContext",
      "difference",
    ]);

    // Markdown, written and re-rendered from report.json.
    expect(markdownReport(hub)).toMatch(/copy last \+ hubness penalty 0\.5 \(copy-hubness's windows\)/);
    expect(markdownReport(hub)).toMatch(/\*\*copy-hubness - copy last \+ hubness penalty\*\* \(paired\)/);
    expect(markdownReport(plain)).not.toMatch(/hubness/);
    const out = join(root, "report");
    await writeReport(out, hub);
    await replotReport(join(out, "report.json"));
    expect(await readFile(join(out, "report.md"), "utf8")).toMatch(/copy last \+ hubness penalty 0\.5/);
  }, 120_000);

  it("the approximate-index row searches with the same penalty (penalisedSearch over the HNSW index)", async () => {
    const { buildStoreIndex } = await import("../../src/index/hnsw-build.ts");
    await buildStoreIndex(storeDir, { M: 16, efConstruction: 100 });
    const options = {
      store: storeDir,
      rolloutSteps: 0,
      rolloutWindows: 1,
      maxWindows: 400,
      bootstrap: { resamples: 10, seed: 1, level: 0.95 },
    };
    const [plain, hub] = [await evaluate({ ...options, models: [plainDir] }), await evaluate({ ...options, models: [hubDir] })];
    const [p, h] = [plain.models[0], hub.models[0]];
    expect(h.testIndexed).toMatchObject({ index: "hnsw-core", ef: 64 });
    // Within 2 points of the exact penalised row, and not the plain index row.
    for (const k of ["r@1", "r@5", "r@20"] as const)
      expect(Math.abs((h.testIndexed?.excluded[k] ?? 0) - h.test.excluded[k])).toBeLessThanOrEqual(2);
    expect(recall(h.testIndexed!.excluded)).not.toEqual(recall(p.testIndexed!.excluded));
  }, 120_000);
});
