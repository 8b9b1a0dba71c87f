import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { initTensors, type Preset, presetConfig } from "../../src/lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION, type ModelManifest } from "../../src/lvm/model-format.ts";
import { exportOnnx } from "../../src/lvm/onnx/export.ts";
import { compareRows, randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { writeModel } from "../../src/lvm/read-model.ts";
import { forward, type ReferenceModel } from "../../src/lvm/reference.ts";
import { createRunner, createRunnerForModel, parseBackend } from "../../src/lvm/runners/select-node.ts";
import { BACKENDS, type LvmRunner } from "../../src/lvm/runners/types.ts";
import { tempDir } from "../helpers.ts";

const DIM = 64;

function model(preset: Preset): ReferenceModel {
  const config = presetConfig(preset, DIM);
  return { manifest: null as never, config, tensors: initTensors(config, 3), lastWeight: 0.2 };
}

describe("LvmRunner backends", () => {
  for (const preset of ["gru", "lstm", "transformer"] as const) {
    it(`${preset}: core, core-f32, ort-wasm and ort-node agree with the reference and each other`, async () => {
      const m = model(preset);
      const batch = 5;
      const contexts = randomContexts(batch, 5, DIM, 1);
      const expected = forward(m, contexts, batch);
      const runners: LvmRunner[] = [];
      try {
        for (const b of BACKENDS) runners.push(await createRunnerForModel(m, b));
        expect(runners.map((r) => r.id)).toEqual(["core-int8", "core-f32", "ort-wasm", "ort-node"]);
        const outputs = await Promise.all(runners.map((r) => r.forward(contexts, batch)));
        for (const [i, r] of runners.entries()) {
          const c = compareRows(outputs[i], expected, DIM);
          if (r.id === "core-int8") expect(c.minCosine).toBeGreaterThanOrEqual(0.995);
          else expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-4);
        }
        expect(compareRows(outputs[2], outputs[3], DIM).maxAbsDiff).toBeLessThanOrEqual(1e-5);
        await expect(runners[2].forward(contexts, batch + 1)).rejects.toThrow(/expected 6 x 5 x 64/);
      } finally {
        for (const r of runners) r.dispose();
      }
    });
  }

  it("the ONNX backends can run the INT8 graph", async () => {
    const m = model("gru");
    const contexts = randomContexts(3, 5, DIM, 2);
    const expected = forward(m, contexts, 3);
    for (const b of ["ort-wasm", "ort-node"] as const) {
      const r = await createRunnerForModel(m, b, { int8Onnx: true });
      expect(r.id).toBe(`${b}-int8`);
      expect(compareRows(await r.forward(contexts, 3), expected, DIM).minCosine).toBeGreaterThanOrEqual(0.995);
      r.dispose();
    }
  });

  it("createRunner reads a model directory and prefers its model.onnx", async () => {
    await using dir = await tempDir();
    const m = model("gru-edge");
    const manifest = {
      format: MODEL_FORMAT,
      version: MODEL_VERSION,
      arch: "gru",
      config: m.config,
      encoder: { id: "test", dim: DIM },
      blend: { lastWeight: m.lastWeight },
      training: {},
      split: { seed: 0, fractions: [0.8, 0.1, 0.1], storeDocuments: 0, train: [], val: [], test: [] },
    } satisfies Omit<ModelManifest, "tensors">;
    await writeModel(dir.path, manifest, m.tensors);
    const contexts = randomContexts(2, 5, DIM, 4);
    const expected = forward(m, contexts, 2);
    const fromDir = await createRunner(dir.path, "ort-node");
    expect(compareRows(await fromDir.forward(contexts, 2), expected, DIM).maxAbsDiff).toBeLessThanOrEqual(1e-4);
    fromDir.dispose();
    // A model.onnx in the directory is what the ONNX backends load (here: a different model, to tell them apart).
    const other = { ...m, tensors: initTensors(m.config, 99) };
    await writeFile(join(dir.path, "model.onnx"), exportOnnx(other));
    const fromFile = await createRunner(dir.path, "ort-wasm");
    expect(compareRows(await fromFile.forward(contexts, 2), forward(other, contexts, 2), DIM).maxAbsDiff).toBeLessThanOrEqual(1e-4);
    fromFile.dispose();
    const core = await createRunner(dir.path, "core-f32");
    expect(compareRows(await core.forward(contexts, 2), expected, DIM).maxAbsDiff).toBeLessThanOrEqual(1e-4);
    core.dispose();
  });

  it("parseBackend names the known backends", () => {
    expect(parseBackend("ort-wasm")).toBe("ort-wasm");
    expect(() => parseBackend("tfjs")).toThrow(/known: core, core-f32, ort-wasm, ort-node/);
  });
});
