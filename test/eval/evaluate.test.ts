import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { evaluate, jsonSummary } from "../../src/eval/evaluate.ts";
import { copyLastPredictions } from "../../src/eval/metrics.ts";
import { markdownReport, replotReport, reportPlots, writeReport } from "../../src/eval/report.ts";
import { createRetrievalIndex, rankTargets, summarizeRanks } from "../../src/eval/retrieval.ts";
import type { StoreHubness } from "../../src/index/hubness.ts";
import { readModel } from "../../src/lvm/read-model.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../../src/lvm/tf-model.ts";
import { gatherContexts, splitDocuments, splitRecord, windowTargets } from "../../src/lvm/windows.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore } from "../lvm/mini-store.ts";
import { writeCopyLastModel, writeTinyGru } from "./copy-model.ts";

let storeDir = "";
let root = "";
let cleanup: () => Promise<void>;
let modelDir = "";
beforeAll(async () => {
  const built = await buildMiniStore();
  [storeDir, root, cleanup] = [built.dir, built.root, built.cleanup];
  const store = await readStore(storeDir);
  // It predicts exactly copy-last.
  modelDir = join(root, "copy-model");
  await writeCopyLastModel(modelDir, store);
});
afterAll(async () => cleanup());

const summarizeRanksOf = ({ cosine: _, ...rest }: { cosine: number }) => rest;

describe("lvm eval", () => {
  it("scores the test split: a copy-last model equals the copy-last baseline, computed as defined", async () => {
    const report = await evaluate({ store: storeDir, models: [modelDir], rolloutSteps: 3, rolloutWindows: 20, maxWindows: 0 });
    const m = report.models[0];
    expect(m.sameStore).toBe(true);
    const { cosine, ...recall } = m.test.excluded;
    expect(recall).toMatchObject(summarizeRanksOf(report.baselines.copyLast.excluded));
    expect(cosine).toBeCloseTo(report.baselines.copyLast.excluded.cosine, 5);
    // The baseline by hand: rank of each target against the whole store, its 5 context rows excluded.
    await initLvmBackend();
    const store = await readStore(storeDir);
    const targets = windowTargets(store, splitDocuments(store.documents.length, 1).test, 5);
    expect(m.testWindows).toBe(targets.length);
    const index = createRetrievalIndex(store.vectors, store.dim);
    const ranks = rankTargets(index, copyLastPredictions(store, targets), targets, 5).ranks;
    index.dispose();
    expect(report.baselines.copyLast.excluded).toMatchObject(summarizeRanks(ranks.excluded));
    expect(report.baselines.copyLast.included["r@1"]).toBe(0);
    expect(m.rollout.steps[0].consecutiveCosine).toBeCloseTo(1, 4);
    expect(m.rollout.degeneratedAtStep).toBe(2);
    const json = jsonSummary(report);
    for (const key of ["model", "copyLast", "meanContext"]) {
      expect(Object.keys(json[key] as object).sort()).toEqual(["cosine", "mrr", "r@1", "r@10", "r@20", "r@5"]);
    }
    await writeReport(join(root, "report"), report);
    expect(await readFile(join(root, "report", "recall-vs-params.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(await readFile(join(root, "report", "report.md"), "utf8")).toContain("![recall vs speed](recall-vs-speed.svg)");
  });

  it("a blended model is scored as its blended predictions (shared-pass ranks agree with direct ranking)", async () => {
    const store = await readStore(storeDir);
    const dir = join(root, "blend-model");
    const split = splitDocuments(store.documents.length, 1);
    await writeTinyGru(dir, store, { seed: 3, extra: { blend: { lastWeight: 0.3 } } });
    const report = await evaluate({ store: storeDir, models: [dir], rolloutSteps: 2, rolloutWindows: 10, maxWindows: 0 });
    const model = await readModel(dir);
    const targets = windowTargets(store, split.test, 5);
    const params = toTfParams(model.tensors);
    const predictions = tfPredict(params, model.config, gatherContexts(store, targets, 5), targets.length, 0.3);
    const index = createRetrievalIndex(store.vectors, store.dim);
    const direct = summarizeRanks(rankTargets(index, predictions, targets, 5).ranks.excluded);
    index.dispose();
    const tolerance = 100 / targets.length + 1e-9;
    for (const k of ["r@1", "r@5", "r@10", "r@20"] as const)
      expect(Math.abs(report.models[0].test.excluded[k] - direct[k])).toBeLessThanOrEqual(tolerance);
    expect(report.models[0].testUnblended).not.toBeNull();
    expect(report.models[0].blend).toBe(0.3);
    // The server's runners evaluate too: onnxruntime-node's f32 graph runs unblended, the blend is applied after.
    const ort = await evaluate({ store: storeDir, models: [dir], rolloutSteps: 2, rolloutWindows: 10, maxWindows: 0, backend: "ort-node" });
    expect(ort.models[0].name).toBe("blend-model [ort-node]");
    for (const k of ["r@1", "r@5", "r@10", "r@20"] as const)
      expect(Math.abs(ort.models[0].test.excluded[k] - direct[k])).toBeLessThanOrEqual(tolerance);
    // The mean cosine to the target tells a blended prediction from an unblended one where recall barely moves.
    expect(ort.models[0].test.excluded.cosine).toBeCloseTo(report.models[0].test.excluded.cosine, 5);
    expect(ort.models[0].testUnblended!.excluded.cosine).toBeCloseTo(report.models[0].testUnblended!.excluded.cosine, 5);
    expect(Math.abs(report.models[0].test.excluded.cosine - report.models[0].testUnblended!.excluded.cosine)).toBeGreaterThan(2e-5);
  });

  it("CLI: --json prints one object; bad flags are usage errors", async () => {
    const lines: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (s: string) => lines.push(s);
    console.error = () => {};
    try {
      expect(await main(["eval", "--store", storeDir, "--model", modelDir, "--json", "--max-windows", "50", "--rollout", "2"])).toBe(0);
      expect(await main(["eval", "--store", storeDir])).toBe(2);
      expect(await main(["train", "--out", join(root, "x")])).toBe(2);
      expect(await main(["train", "--store", storeDir, "--out", join(root, "x"), "--preset", "rnn"])).toBe(2);
      expect(await main(["train", "--store", storeDir, "--out", join(root, "x"), "--loss", "hinge"])).toBe(2);
    } finally {
      console.log = log;
      console.error = err;
    }
    const json = JSON.parse(lines.join("\n"));
    expect(json.model["r@5"]).toBeCloseTo(json.copyLast["r@5"], 6);
    expect(json.meanContext.mrr).toBeGreaterThan(0);
  });
});

describe("lvm eval with the store's HNSW index", () => {
  it("adds a row scored through the index that stays within 2 points of the exact one; --exact drops it", async () => {
    const { buildStoreIndex } = await import("../../src/index/hnsw-build.ts");
    await buildStoreIndex(storeDir, { M: 16, efConstruction: 100 });
    const withIndex = await evaluate({ store: storeDir, models: [modelDir], rolloutSteps: 0, rolloutWindows: 1, maxWindows: 400 });
    const m = withIndex.models[0];
    expect(m.testIndexed).toMatchObject({ index: "hnsw-core", ef: 64 });
    for (const k of ["r@5", "r@20"] as const)
      expect(Math.abs((m.testIndexed?.excluded[k] ?? 0) - m.test.excluded[k])).toBeLessThanOrEqual(2);
    const exact = await evaluate({ store: storeDir, models: [modelDir], rolloutSteps: 0, rolloutWindows: 1, maxWindows: 400, exact: true });
    expect(exact.models[0].testIndexed).toBeNull();
  });
});

describe("lvm eval: intervals, per-model baselines, the store check, rollouts, backends compared", () => {
  async function writeTestModel(
    name: string,
    seed: number,
    over: { lastWeight?: number; storeDocuments?: number; zeroHead?: boolean } = {},
  ) {
    const store = await readStore(storeDir);
    const dir = join(root, name);
    const split = splitRecord(store, splitDocuments(store.documents.length, seed), seed);
    if (over.storeDocuments !== undefined) split.storeDocuments = over.storeDocuments;
    const blend = over.lastWeight ? { blend: { lastWeight: over.lastWeight } } : {};
    // hidden 16: the core's kernels need multiples of 16.
    await writeTinyGru(dir, store, { seed: 3, hidden: 16, zeroHead: over.zeroHead, extra: { split, ...blend } });
    return dir;
  }
  const base = { rolloutSteps: 3, rolloutWindows: 12, maxWindows: 0, exact: true };

  it("--json gives the intervals beside model, copyLast and meanContext; a copy-last model differs from copy-last by exactly 0", async () => {
    const report = await evaluate({ ...base, store: storeDir, models: [modelDir], bootstrap: { resamples: 200, seed: 1, level: 0.95 } });
    const json = jsonSummary(report) as Record<string, Record<string, unknown>>;
    const intervals = json.intervals as Record<string, unknown>;
    expect(Object.keys(intervals).sort()).toEqual(
      ["articles", "copyLast", "difference", "level", "meanContext", "model", "resamples", "seed", "unit"].sort(),
    );
    expect(intervals).toMatchObject({ resamples: 200, seed: 1, level: 0.95, unit: "article", articles: report.models[0].testDocuments });
    for (const key of ["model", "copyLast", "meanContext", "difference"]) {
      const block = intervals[key] as Record<string, [number, number]>;
      expect(Object.keys(block).sort()).toEqual(["mrr", "r@1", "r@10", "r@20", "r@5"]);
      for (const [k, [lo, hi]] of Object.entries(block)) {
        expect(lo).toBeLessThanOrEqual(hi);
        if (key !== "difference") {
          const point = (json[key] as Record<string, number>)[k];
          expect(lo).toBeLessThanOrEqual(point + 1e-9);
          expect(hi).toBeGreaterThanOrEqual(point - 1e-9);
        }
      }
    }
    for (const i of Object.values(intervals.difference as Record<string, [number, number]>)) expect(i).toEqual([0, 0]);
    const md = markdownReport(report);
    expect(md).toContain("## 95% intervals (article-clustered bootstrap)");
    expect(md).toContain("Each of 200 resamples (seed 1)");
    expect(md).toMatch(/\| \*\*copy-model - copy last\*\* \(paired\) \| 0\.0 to 0\.0 \|/);
    // The plot draws the interval as an error bar and gives it in the legend.
    const svg = reportPlots(report).params;
    expect(svg).toContain('class="error-bar"');
    const [lo, hi] = (intervals.model as Record<string, [number, number]>)["r@5"];
    expect(svg).toContain(`[${lo.toFixed(1)}, ${hi.toFixed(1)}]`);
  });

  it("scores the baselines on each model's own test windows and says when the splits differ", async () => {
    const other = await writeTestModel("other-split", 2, { zeroHead: true });
    const report = await evaluate({
      ...base,
      store: storeDir,
      models: [modelDir, other],
      bootstrap: { resamples: 50, seed: 1, level: 0.95 },
    });
    const [a, b] = report.models;
    expect(a.testWindows).not.toBe(b.testWindows);
    // Each model's copy-last is computed on its own windows (both models are copy-last models).
    for (const m of [a, b]) expect(m.baselines?.copyLast.excluded["r@5"]).toBeCloseTo(m.test.excluded["r@5"], 9);
    expect(b.baselines?.copyLast.excluded["r@5"]).not.toBeCloseTo(a.baselines?.copyLast.excluded["r@5"] ?? 0, 3);
    expect(report.baselines.copyLast).toEqual(a.baselines?.copyLast);
    const md = markdownReport(report);
    expect(md).toContain("The models were scored on different test windows");
    expect(md).toContain("copy last context (other-split's windows)");
  });

  it("says when the store changed since the model's split was made", async () => {
    const dir = await writeTestModel("old-store", 1, { storeDocuments: 140 });
    const lines: string[] = [];
    const report = await evaluate({
      ...base,
      store: storeDir,
      models: [dir],
      log: (l) => lines.push(l),
      bootstrap: { resamples: 20, seed: 1, level: 0.95 },
    });
    expect(report.models[0].storeChange).toMatch(/made from 140 documents, the store now holds 147/);
    expect(lines.join("\n")).toMatch(/warning: the store changed since the model's split was made/);
    expect(markdownReport(report)).toContain("**Warning**: old-store: the store changed");
  });

  /**
   * Served rollouts of a fresh model against generateChain window by window (with the store's hubness values and a
   * penalty weight when given); returns the rollout, its picks and the targets.
   */
  async function servedAgainstGenerate(name: string, penalty?: { hubness: StoreHubness; weight: number }) {
    const { servedRollout } = await import("../../src/eval/rollout.ts");
    const { generateChain } = await import("../../src/predict/generate.ts");
    const { referenceIndex } = await import("../../src/index/types.ts");
    const { ModelRegistry } = await import("../../src/lvm/registry.ts");
    await initLvmBackend();
    const store = await readStore(storeDir);
    const dir = await writeTestModel(name, 1, { lastWeight: 0.3 });
    const model = await readModel(dir);
    const params = toTfParams(model.tensors);
    const predict = (c: Float32Array, b: number, w: number) => tfPredict(params, model.config, c, b, w);
    const targets = Int32Array.from(windowTargets(store, splitDocuments(store.documents.length, 1).test, 5).filter((_, i) => i % 40 === 0));
    const index = createRetrievalIndex(store.vectors, store.dim);
    const picks: number[][] = [];
    const penaltyValues = penalty && { values: penalty.hubness.values, weight: penalty.weight };
    const served = await servedRollout(predict, model, store, index, targets, 4, 2, picks, penaltyValues);
    index.dispose();
    const models = new ModelRegistry();
    models.add({
      name: "m",
      arch: "gru",
      backend: "tf",
      dim: 512,
      encoder: store.encoder.id,
      context: 5,
      description: "",
      ...(penalty ? { hubness: { neighbours: penalty.hubness.neighbours, weight: penalty.weight } } : {}),
      forward: (c, b) => predict(c, b, 0.3),
    });
    const deps = { store, exactIndex: referenceIndex(store.vectors, store.dim), models, hubness: penalty?.hubness };
    for (let i = 0; i < targets.length; i++) {
      const context = [5, 4, 3, 2, 1].map((k) => ({ row: targets[i] - k }));
      const chain = await generateChain(deps, { context, steps: 4, stopCosine: 2 });
      expect(picks[i]).toEqual(chain.steps.map((s) => s.row));
    }
    for (const t of params.values()) t.dispose();
    return { served, picks, targets };
  }

  it("rolls out as /v1/generate serves: the same chains as generateChain", async () => {
    const { served, targets } = await servedAgainstGenerate("served");
    expect(served.steps.map((s) => s.chains)).toEqual([targets.length, targets.length, targets.length, targets.length]);
    expect(served.meanLength).toBe(4);
    // The evaluation reports both rollouts.
    const report = await evaluate({ ...base, store: storeDir, models: [modelDir], bootstrap: { resamples: 20, seed: 1, level: 0.95 } });
    const copy = report.models[0].servedRollout!;
    expect(copy.steps[0]).toMatchObject({ step: 1, chains: 12, consecutiveCosine: null });
    expect(copy.meanLength).toBeLessThanOrEqual(3);
    expect(report.models[0].rollout.steps.length).toBeGreaterThan(0);
    expect(markdownReport(report)).toContain("as served (12 chains, stop cosine 0.9)");
  });

  it("rolls out as /v1/generate serves with the model's hubness penalty: the same chains as generateChain", async () => {
    const { CoreIndex } = await import("../../src/index/core-index.ts");
    const { hubnessForStore } = await import("../../src/index/hubness.ts");
    const { loadCore } = await import("../../src/core/wasm-core-node.ts");
    const store = await readStore(storeDir);
    const core = new CoreIndex(await loadCore(), store);
    const hubness = hubnessForStore(store, core);
    core.dispose();
    const penalised = await servedAgainstGenerate("served-hub", { hubness, weight: 1 });
    const plain = await servedAgainstGenerate("served-plain");
    // The penalty changed some picks (else this test could not tell the two apart).
    expect(penalised.picks.map((p) => p.join())).not.toEqual(plain.picks.map((p) => p.join()));
  });

  it("--reference runs the same file on a second backend and compares the predictions window by window", async () => {
    const dir = await writeTestModel("ref", 1, { lastWeight: 0.2 });
    const report = await evaluate({
      ...base,
      store: storeDir,
      models: [dir],
      backend: "core-f32",
      reference: "tf",
      bootstrap: { resamples: 50, seed: 1, level: 0.95 },
    });
    const r = report.models[0].reference!;
    expect(r.backend).toBe("tf");
    expect(r.minCosine).toBeGreaterThan(0.9999);
    expect(r.meanCosine).toBeLessThanOrEqual(1 + 1e-6);
    expect(Math.abs(r.excluded["r@5"] - report.models[0].test.excluded["r@5"])).toBeLessThanOrEqual(
      100 / report.models[0].testWindows + 1e-9,
    );
    expect(r.difference["r@5"][0]).toBeLessThanOrEqual(0);
    expect(r.difference["r@5"][1]).toBeGreaterThanOrEqual(0);
    expect(markdownReport(report)).toContain("## The same model file on a reference backend");
  });

  it("--part val scores the validation split; models on the same windows get a paired difference to the first", async () => {
    const store = await readStore(storeDir);
    const blended = await writeTestModel("val-blend", 1, { lastWeight: 0.3 });
    const report = await evaluate({
      ...base,
      store: storeDir,
      models: [blended, modelDir, blended],
      part: "val",
      bootstrap: { resamples: 50, seed: 1, level: 0.95 },
    });
    expect(report.part).toBe("val");
    const valTargets = windowTargets(store, splitDocuments(store.documents.length, 1).val, 5);
    expect(report.models.map((m) => m.testWindows)).toEqual([valTargets.length, valTargets.length, valTargets.length]);
    expect(report.models[0].intervals?.versusFirst).toBeNull();
    // The same model again: exactly [0, 0]. The copy-last model: 0 against copy-last, not against the first model.
    expect(report.models[2].intervals?.versusFirst?.name).toBe("val-blend");
    for (const i of Object.values(report.models[2].intervals!.versusFirst!.difference)) expect(i).toEqual([0, 0]);
    for (const i of Object.values(report.models[1].intervals!.difference)) expect(i).toEqual([0, 0]);
    const d = report.models[1].intervals!.versusFirst!.difference["r@5"];
    expect(d[0]).toBeLessThanOrEqual(d[1]);
    expect(d).not.toEqual([0, 0]);
    expect(markdownReport(report)).toContain("VALIDATION windows");
    expect(markdownReport(report)).toContain("| copy-model - val-blend (paired) |");
  });

  it("a report with the new fields re-renders the same Markdown from its report.json", async () => {
    const report = await evaluate({ ...base, store: storeDir, models: [modelDir], bootstrap: { resamples: 20, seed: 1, level: 0.95 } });
    const out = join(root, "replot");
    await writeReport(out, report);
    const md = await readFile(join(out, "report.md"), "utf8");
    await replotReport(join(out, "report.json"));
    expect(await readFile(join(out, "report.md"), "utf8")).toBe(md);
  });
});
