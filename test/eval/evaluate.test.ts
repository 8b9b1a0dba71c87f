import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { evaluate, jsonSummary } from "../../src/eval/evaluate.ts";
import { copyLastPredictions } from "../../src/eval/metrics.ts";
import { writeReport } from "../../src/eval/report.ts";
import { createRetrievalIndex, rankTargets, summarizeRanks } from "../../src/eval/retrieval.ts";
import { initTensors, presetConfig } from "../../src/lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION } from "../../src/lvm/model-format.ts";
import { readModel, writeModel } from "../../src/lvm/read-model.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../../src/lvm/tf-model.ts";
import { gatherContexts, splitDocuments, splitRecord, windowTargets } from "../../src/lvm/windows.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore } from "../lvm/mini-store.ts";

let storeDir = "";
let root = "";
let cleanup: () => Promise<void>;
let modelDir = "";
beforeAll(async () => {
  const built = await buildMiniStore();
  [storeDir, root, cleanup] = [built.dir, built.root, built.cleanup];
  const store = await readStore(storeDir);
  // An untrained residual GRU with a zero head and blend 0: it predicts exactly copy-last.
  const config = { ...presetConfig("gru-edge", 512), hidden: 8 };
  const tensors = initTensors(config, 1);
  tensors.get("head.w")?.data.fill(0);
  modelDir = join(root, "copy-model");
  await writeModel(
    modelDir,
    {
      format: MODEL_FORMAT,
      version: MODEL_VERSION,
      arch: "gru",
      config,
      encoder: { id: store.encoder.id, dim: store.dim },
      training: {},
      split: splitRecord(store, splitDocuments(store.documents.length, 1), 1),
    },
    tensors,
  );
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
    const config = { ...presetConfig("gru-edge", 512), hidden: 8 };
    const tensors = initTensors(config, 3);
    const dir = join(root, "blend-model");
    const split = splitDocuments(store.documents.length, 1);
    await writeModel(
      dir,
      {
        format: MODEL_FORMAT,
        version: MODEL_VERSION,
        arch: "gru",
        config,
        encoder: { id: store.encoder.id, dim: store.dim },
        blend: { lastWeight: 0.3 },
        training: {},
        split: splitRecord(store, split, 1),
      },
      tensors,
    );
    const report = await evaluate({ store: storeDir, models: [dir], rolloutSteps: 2, rolloutWindows: 10, maxWindows: 0 });
    const model = await readModel(dir);
    const targets = windowTargets(store, split.test, 5);
    const params = toTfParams(model.tensors);
    const predictions = tfPredict(params, config, gatherContexts(store, targets, 5), targets.length, 0.3);
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
