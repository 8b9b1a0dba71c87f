import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readModel } from "../../src/lvm/read-model.ts";
import type { TrainOptions } from "../../src/train/options.ts";
import { train } from "../../src/train/train.ts";
import { buildMiniStore } from "../lvm/mini-store.ts";
import { tinyTrainOptions } from "./tiny-options.ts";

let store = "";
let root = "";
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const built = await buildMiniStore();
  [store, root, cleanup] = [built.dir, built.root, built.cleanup];
});
afterAll(async () => cleanup());

const options = (out: string, over: Partial<TrainOptions> = {}): TrainOptions => tinyTrainOptions(store, out, over);

describe("lvm train", () => {
  it("trains, keeps the best epoch, saves the split and a validation-chosen blend", async () => {
    const out = join(root, "full");
    const result = await train(options(out));
    expect(result).not.toBeNull();
    const model = await readModel(out);
    expect(model.manifest.arch).toBe("gru");
    expect(model.manifest.split.train.length + model.manifest.split.val.length + model.manifest.split.test.length).toBe(147);
    expect(model.manifest.split.documentsFnv1a).toBeTypeOf("number");
    expect((model.manifest.training.history as unknown[]).length).toBe(2);
    await expect(stat(join(out, "checkpoint"))).rejects.toThrow();
  });

  it("resumes after a kill and ends with the same weights as an uninterrupted run", async () => {
    const out = join(root, "resumed");
    expect(await train(options(out), { stopAfterEpoch: (e) => e === 1 })).toBeNull();
    const state = JSON.parse(await readFile(join(out, "checkpoint", "state.json"), "utf8"));
    expect(state.nextEpoch).toBe(1);
    await train(options(out), {}, true);
    const [a, b] = await Promise.all([readModel(join(root, "full")), readModel(out)]);
    for (const [name, t] of a.tensors) expect(b.tensors.get(name)?.data).toEqual(t.data);
  });
});

describe("the queue of recent targets as negatives", () => {
  it("changes training, and a resumed run with it repeats an uninterrupted one (the queue restarts each epoch)", async () => {
    const [a, b] = [join(root, "queue-full"), join(root, "queue-resumed")];
    await train(options(a, { queue: 128 }));
    expect(await train(options(b, { queue: 128 }), { stopAfterEpoch: (e) => e === 1 })).toBeNull();
    await train(options(b, { queue: 128 }), {}, true);
    const [full, resumed, plain] = await Promise.all([readModel(a), readModel(b), readModel(join(root, "full"))]);
    for (const [name, t] of full.tensors) expect(resumed.tensors.get(name)?.data).toEqual(t.data);
    expect(full.tensors.get("head.w")?.data).not.toEqual(plain.tensors.get("head.w")?.data);
  });
});

describe("resume checks the store against the saved split", () => {
  it("refuses a store whose documents changed since the split was made", async () => {
    const out = join(root, "changed-store");
    expect(await train(options(out, { epochs: 2 }), { stopAfterEpoch: (e) => e === 1 })).toBeNull();
    const path = join(out, "checkpoint", "last", "model.json");
    const original = await readFile(path, "utf8");
    const edit = async (change: (split: Record<string, unknown>) => void) => {
      const manifest = JSON.parse(original);
      change(manifest.split);
      await writeFile(path, JSON.stringify(manifest));
    };
    // The split was made from a store of 148 documents; the store now holds 147.
    await edit((split) => {
      split.storeDocuments = 148;
    });
    await expect(train(options(out, { epochs: 2 }), {}, true)).rejects.toThrow(
      /cannot resume .*changed since training began \(the split was made from 148 documents, the store now holds 147\)/,
    );
    // Same count, other ids (or order).
    await edit((split) => {
      split.documentsFnv1a = 12345;
    });
    await expect(train(options(out, { epochs: 2 }), {}, true)).rejects.toThrow(/document ids differ .*split 12345/);
    // Unchanged: resumes.
    await writeFile(path, original);
    expect(await train(options(out, { epochs: 2 }), {}, true)).not.toBeNull();
  });
});

describe("choices made on validation, never on test", () => {
  // Recall of the model in `dir` on the windows of `part` (own code path: predictions, then ranks).
  async function recallOf(dir: string, part: "val" | "test", lastWeight = 0, hubnessWeight = 0) {
    const [{ readStore }, { initLvmBackend }, { toTfParams, tfPredict }, w, r] = await Promise.all([
      import("../../src/store/fs-store.ts"),
      import("../../src/lvm/tf-backend.ts"),
      import("../../src/lvm/tf-model.ts"),
      import("../../src/lvm/windows.ts"),
      import("../../src/eval/retrieval.ts"),
    ]);
    await initLvmBackend();
    const s = await readStore(store);
    const model = await readModel(dir);
    const targets = w.windowTargets(s, w.documentsForEvaluation(s, model.manifest.split, part).documents, 5);
    const params = toTfParams(model.tensors);
    const preds = tfPredict(params, model.config, w.gatherContexts(s, targets, 5), targets.length, lastWeight);
    for (const t of params.values()) t.dispose();
    const index = r.createRetrievalIndex(s.vectors, s.dim);
    // The shipped prediction (unit, blended) searched with the penalty: a blend entry of weight 0 on it.
    hubValues ??= r.storeHubnessTf(index, s.vectors, 10).values;
    const penalised = { last: preds, weights: [0], hubWeights: [hubnessWeight], hubness: hubValues };
    const ranks = r.rankTargets(index, preds, targets, 5, penalised);
    const summary = r.summarizeRanks(hubnessWeight > 0 ? ranks.blended[0].excluded : ranks.ranks.excluded);
    index.dispose();
    return { r5: summary["r@5"], mean: (summary["r@1"] + summary["r@5"] + summary["r@10"] + summary["r@20"]) / 4 };
  }
  let hubValues: Float32Array | undefined;
  const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

  it("keeps the epoch best on validation and the blend best on validation, where test would choose others", async () => {
    const out = join(root, "val-choices");
    const grid = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    const epochs: string[] = [];
    const { cpSync } = await import("node:fs");
    const hubGrid = [0, 0.5, 1];
    const result = await train(
      options(out, { epochs: 4, maxValWindows: 0, blendGrid: grid, hubnessGrid: hubGrid, seed: 4, maxTrainWindows: 512 }),
      {
        stopAfterEpoch: (e) => {
          const dir = join(root, `val-choices-epoch-${e}`);
          cpSync(join(out, "checkpoint", "last"), dir, { recursive: true });
          epochs.push(dir);
          return false;
        },
      },
    );
    expect(result).not.toBeNull();
    const model = await readModel(out);
    const valR5: number[] = [];
    const testR5: number[] = [];
    for (const dir of epochs) {
      valR5.push((await recallOf(dir, "val")).r5);
      testR5.push((await recallOf(dir, "test")).r5);
    }
    expect(valR5).toEqual((model.manifest.training.history as { valR5: number }[]).map((h) => h.valR5));
    // The kept weights are those of the epoch with the best validation R@5 (the first, on a tie) ...
    const best = argmax(valR5);
    expect(model.manifest.training.bestEpoch).toBe(best + 1);
    const kept = await readModel(epochs[best]);
    for (const [name, t] of kept.tensors) expect(model.tensors.get(name)?.data).toEqual(t.data);
    // ... while test would have picked another epoch (the premise of this test: the two disagree).
    expect(argmax(testR5)).not.toBe(best);
    // The blend and the hubness penalty: the validation optimum of mean R@1/5/10/20 over grid x hubGrid
    // (penalty-free entries first), not the test optimum.
    const pairs = hubGrid.flatMap((b) => grid.map((w) => [w, b]));
    const blendOn = async (part: "val" | "test") => {
      const scores: number[] = [];
      for (const [w, b] of pairs) scores.push((await recallOf(out, part, w, b)).mean);
      return pairs[argmax(scores)];
    };
    const [valBlend, testBlend] = [await blendOn("val"), await blendOn("test")];
    expect([model.lastWeight, model.hubness?.weight ?? 0]).toEqual(valBlend);
    if (valBlend[1] > 0) expect(model.hubness?.neighbours).toBe(10);
    else expect(model.manifest.retrieval).toBeUndefined();
    expect(testBlend).not.toEqual(valBlend);
    const sweep = model.manifest.training.blendSweep as { lastWeight: number; hubnessWeight: number }[];
    expect(sweep.map((e) => [e.lastWeight, e.hubnessWeight])).toEqual(pairs);
  }, 120_000);
});
