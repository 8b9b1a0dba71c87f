// `lvm tune` on a tiny trained model of the mini store: the choice is chooseBlend's on the validation windows,
// model.json is rewritten, weights.bin is not, INT8 files work, a changed store is refused.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { createRetrievalIndex, storeHubnessTf } from "../../src/eval/retrieval.ts";
import { quantizeModel } from "../../src/lvm/quantized-model.ts";
import { readManifestFile, readModel } from "../../src/lvm/read-model.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../../src/lvm/tf-model.ts";
import { documentsForEvaluation, gatherContexts, windowTargets } from "../../src/lvm/windows.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { train } from "../../src/train/train.ts";
import { tune } from "../../src/train/tune.ts";
import { chooseBlend } from "../../src/train/validate.ts";
import { buildMiniStore } from "../lvm/mini-store.ts";
import { tinyTrainOptions } from "../train/tiny-options.ts";

let store = "";
let root = "";
let model = "";
let cleanup: () => Promise<void>;
const blendGrid = [0, 0.3, 0.6];
const hubnessGrid = [0, 0.5, 1];

beforeAll(async () => {
  const built = await buildMiniStore();
  [store, root, cleanup] = [built.dir, built.root, built.cleanup];
  model = join(root, "model");
  // Trained with a blend grid of 0 alone and no penalty, so the tune has something to change.
  await train(tinyTrainOptions(store, model, { maxValWindows: 0, blendGrid: [0], hubnessGrid: [0] }));
}, 60_000);
afterAll(async () => cleanup());

/** chooseBlend on the model's validation windows, computed here from the store and the weights. */
async function expectedChoice(dir: string) {
  await initLvmBackend();
  const s = await readStore(store);
  const m = await readModel(dir);
  const targets = windowTargets(s, documentsForEvaluation(s, m.manifest.split, "val").documents, 5);
  const params = toTfParams(m.tensors);
  const predictions = tfPredict(params, m.config, gatherContexts(s, targets, 5), targets.length, 0);
  for (const t of params.values()) t.dispose();
  const index = createRetrievalIndex(s.vectors, s.dim);
  try {
    return chooseBlend(s, index, predictions, targets, 5, blendGrid, { values: storeHubnessTf(index, s.vectors, 10), grid: hubnessGrid });
  } finally {
    index.dispose();
  }
}

describe("lvm tune", () => {
  it("rewrites model.json with the validation choice and the sweep; weights.bin stays byte for byte", async () => {
    const out = join(root, "tuned");
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    let code: number;
    let printed: string;
    try {
      code = await main([
        "tune",
        "--model",
        model,
        "--store",
        store,
        "--out",
        out,
        "--blend-grid",
        "0,0.3,0.6",
        "--hubness-grid",
        "0,0.5,1",
      ]);
      printed = log.mock.calls.map((c) => String(c[0])).join("\n");
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(code).toBe(0);
    expect(printed).toMatch(/\| lastWeight \| hubness \| R@1 /);
    expect(printed.split("\n").filter((l) => /^\| [0-9.]+( \*)? \| [0-9.]+ \|/.test(l))).toHaveLength(9);

    const expected = await expectedChoice(model);
    const tuned = await readModel(out); // checks weights.bin against the manifest's record
    expect(tuned.lastWeight).toBe(expected.lastWeight);
    expect(tuned.hubness?.weight ?? 0).toBe(expected.hubnessWeight);
    if (expected.hubnessWeight > 0) expect(tuned.hubness).toEqual({ neighbours: 10, weight: expected.hubnessWeight });
    expect(tuned.manifest.training.blendSweep).toEqual(expected.sweep);
    expect(printed).toContain(`lastWeight ${expected.lastWeight}, hubness weight ${expected.hubnessWeight}`);
    expect(await readFile(join(out, "weights.bin"))).toEqual(await readFile(join(model, "weights.bin")));
    // Everything else in model.json is as trained.
    const [a, b] = [await readManifestFile(model), await readManifestFile(out)];
    expect({ ...b, blend: a.blend, retrieval: a.retrieval, training: a.training }).toEqual(a);
    // The source model was not touched.
    expect((await readModel(model)).hubness).toBeUndefined();
  }, 60_000);

  it("tunes an INT8 file in place, keeping its quantization and weights", async () => {
    const dir = join(root, "int8");
    const float = await readModel(model);
    const { manifest, bytes } = quantizeModel(float.manifest, float.tensors, model);
    const { mkdir } = await import("node:fs/promises");
    await mkdir(dir);
    await writeFile(join(dir, "weights.bin"), bytes);
    await writeFile(join(dir, "model.json"), JSON.stringify(manifest));
    const result = await tune({ model: dir, store, blendGrid, hubnessGrid });
    const expected = await expectedChoice(dir);
    expect([result.lastWeight, result.hubnessWeight]).toEqual([expected.lastWeight, expected.hubnessWeight]);
    const tuned = await readModel(dir);
    expect(tuned.lastWeight).toBe(expected.lastWeight);
    expect(tuned.manifest).toHaveProperty("quantization");
    expect(new Uint8Array(await readFile(join(dir, "weights.bin")))).toEqual(bytes);
  }, 60_000);

  it("refuses a store that is not the model's training store", async () => {
    const dir = join(root, "other-split");
    const text = await readFile(join(model, "model.json"), "utf8");
    const changed = JSON.parse(text);
    changed.split.documentsFnv1a = (changed.split.documentsFnv1a + 1) >>> 0;
    const { mkdir, copyFile } = await import("node:fs/promises");
    await mkdir(dir);
    await copyFile(join(model, "weights.bin"), join(dir, "weights.bin"));
    await writeFile(join(dir, "model.json"), JSON.stringify(changed));
    await expect(tune({ model: dir, store, blendGrid, hubnessGrid })).rejects.toThrow(/cannot tune .*document ids differ/);
    expect(await readFile(join(dir, "model.json"), "utf8")).toBe(JSON.stringify(changed));
  }, 60_000);
});
