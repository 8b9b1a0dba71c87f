// model.json records its weights.bin (bytes + FNV-1a): a kill between the two renames of a model directory
// could otherwise pair new weights with an old manifest of the same size, and the model would load silently.
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { initTensors, presetConfig } from "../../src/lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION, type ModelManifest } from "../../src/lvm/model-format.ts";
import { quantizeModel } from "../../src/lvm/quantized-model.ts";
import { readModel, writeModel } from "../../src/lvm/read-model.ts";
import { loadModelFromBytes } from "../../src/lvm/reference.ts";
import { tempDir } from "../helpers.ts";

const config = presetConfig("gru-edge", 16);
const manifest = {
  format: MODEL_FORMAT,
  version: MODEL_VERSION,
  arch: config.arch,
  config,
  encoder: { id: "test", dim: 16 },
  blend: { lastWeight: 0 },
  training: {},
  split: { seed: 1, fractions: [0.8, 0.1, 0.1], storeDocuments: 0, train: [], val: [], test: [] },
} satisfies Omit<ModelManifest, "tensors">;

describe("model.json's weights record", () => {
  it("is written with the model and refuses another weights.bin of the same size", async () => {
    await using dir = await tempDir("lvm-weights-");
    const a = join(dir.path, "a");
    const b = join(dir.path, "b");
    const written = await writeModel(a, manifest, initTensors(config, 1));
    await writeModel(b, manifest, initTensors(config, 2));
    expect(written.weights?.bytes).toBe((await readFile(join(a, "weights.bin"))).length);
    await expect(readModel(a)).resolves.toBeDefined();
    // What a kill between the renames leaves: b's weights (same size) under a's manifest.
    await copyFile(join(b, "weights.bin"), join(a, "weights.bin"));
    await expect(readModel(a)).rejects.toThrow(/weights\.bin \(\d+ bytes, checksum \d+\) is not the file model\.json was written with/);
  });

  it("travels with the INT8 model made from a float one, and older files without it still load", async () => {
    await using dir = await tempDir("lvm-weights-");
    const float = await writeModel(join(dir.path, "f"), manifest, initTensors(config, 3));
    const { manifest: q, bytes } = quantizeModel(float, (await readModel(join(dir.path, "f"))).tensors);
    expect(q.weights).toEqual({ bytes: bytes.length, fnv1a: expect.any(Number) });
    expect(q.weights).not.toEqual(float.weights);
    expect(() => loadModelFromBytes(q as unknown as ModelManifest, bytes)).not.toThrow();
    const { weights: _, ...old } = float;
    await writeFile(join(dir.path, "f", "model.json"), JSON.stringify(old));
    await expect(readModel(join(dir.path, "f"))).resolves.toBeDefined();
  });
});
