import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readModel } from "../../src/lvm/read-model.ts";
import { parseLossWeights } from "../../src/train/losses.ts";
import type { TrainOptions } from "../../src/train/options.ts";
import { train } from "../../src/train/train.ts";
import { buildMiniStore } from "../lvm/mini-store.ts";

let store = "";
let root = "";
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const built = await buildMiniStore();
  [store, root, cleanup] = [built.dir, built.root, built.cleanup];
});
afterAll(async () => cleanup());

const options = (out: string, over: Partial<TrainOptions> = {}): TrainOptions => ({
  store,
  out,
  preset: "gru-edge",
  sizes: { hidden: 16 },
  epochs: 2,
  batch: 64,
  lr: 2e-3,
  warmupSteps: 2,
  minLrFraction: 0.1,
  temperature: 0.05,
  loss: parseLossWeights("infonce=1,mse=0.5"),
  negatives: 128,
  hardNegatives: true,
  seed: 5,
  patience: 5,
  maxTrainWindows: 256,
  maxValWindows: 64,
  blendGrid: [0, 0.5],
  ...over,
});

describe("lvm train", () => {
  it("trains, keeps the best epoch, saves the split and a validation-chosen blend", async () => {
    const out = join(root, "full");
    const result = await train(options(out));
    expect(result).not.toBeNull();
    const model = await readModel(out);
    expect(model.manifest.arch).toBe("gru");
    expect(model.manifest.split.train.length + model.manifest.split.val.length + model.manifest.split.test.length).toBe(147);
    expect([0, 0.5]).toContain(model.lastWeight);
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
