import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ModelFormatError, parseModelManifest } from "../../src/lvm/model-format.ts";
import { readManifestFile } from "../../src/lvm/read-model.ts";

const shipped = JSON.parse(await readFile("models/gru-edge/model.json", "utf8"));
/** The parsed JSON, loosely typed so a test can break any field. */
type Json = typeof shipped;
const broken = (patch: (m: Json) => void) => {
  const m = structuredClone(shipped);
  patch(m);
  return JSON.stringify(m);
};

describe("model.json schema", () => {
  it("reads the shipped INT8 model, keeping fields the schema does not list (quantization)", async () => {
    const m = await readManifestFile("models/gru-edge");
    expect(m.config).toMatchObject({ arch: "gru", hidden: 512 });
    expect((m as unknown as { quantization: { scheme: string } }).quantization.scheme).toBe("int8-per-output-channel");
  });

  it.each([
    [(m: Json) => (m.config.hidden = "512"), 'model.json: config.hidden: expected a positive integer, got "512"'],
    [(m: Json) => (m.config.arch = "rnn"), 'model.json: config.arch: expected "gru" or "lstm" or "transformer", got "rnn"'],
    [(m: Json) => (m.tensors[3].shape[0] = -1), "model.json: tensors.3.shape.0: expected a non-negative integer, got -1"],
    [(m: Json) => (m.tensors[0].dtype = "float16"), 'model.json: tensors.0.dtype: expected "float32" or "int8", got "float16"'],
    [(m: Json) => (m.split.fractions = [0.8, 0.1]), "model.json: split.fractions: expected at least 3 items, got an array of 2"],
    [(m: Json) => (m.blend.lastWeight = 2), "model.json: blend.lastWeight: expected a number <= 1, got 2"],
    [(m: Json) => delete m.encoder, "model.json: encoder: expected an object, got nothing (field missing)"],
    [(m: Json) => (m.format = "onnx"), 'model.json: format: expected "lvm-edge-model" (not an lvm-edge model), got "onnx"'],
  ])("names the broken field (%#)", (patch, message) => {
    expect(() => parseModelManifest(broken(patch), "model.json")).toThrow(new ModelFormatError(message));
  });

  it("names invalid JSON", () => {
    expect(() => parseModelManifest("{", "m/model.json")).toThrow(/^m\/model\.json: not valid JSON/);
  });
});
