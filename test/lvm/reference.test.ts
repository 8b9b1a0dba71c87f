import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensors, PRESETS, parameterCount, presetConfig, tensorSpecs } from "../../src/lvm/architectures.ts";
import {
  decodeTensors,
  encodeTensors,
  MODEL_FORMAT,
  MODEL_VERSION,
  type ModelConfig,
  type ModelManifest,
  type TensorMap,
} from "../../src/lvm/model-format.ts";
import { readModel, writeModel } from "../../src/lvm/read-model.ts";
import { forward, gruCell, linear, loadModelFromBytes, lstmCell, type ReferenceModel } from "../../src/lvm/reference.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../../src/lvm/tf-model.ts";
import { randomUnitRows } from "./mini-store.ts";

/** Initial weights plus noise everywhere (biases, norms, positions), so every tensor's role is exercised. */
function noisyTensors(config: ModelConfig, seed: number): TensorMap {
  const tensors = initTensors(config, seed);
  let s = seed;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      t.data[i] += (s / 2 ** 32 - 0.5) * 0.2;
    }
  }
  return tensors;
}

const dim = 24;
const configs: ModelConfig[] = [
  { arch: "gru", dim, context: 5, hidden: 20, layers: 2, residual: true },
  { arch: "lstm", dim, context: 5, hidden: 16, layers: 2, residual: false },
  { arch: "transformer", dim, context: 5, width: 16, layers: 2, heads: 4, ffn: 32, residual: true },
];

beforeAll(async () => {
  await initLvmBackend();
});

describe.each(configs)("reference forward vs TF.js: $arch", (config) => {
  const tensors = noisyTensors(config, 11);
  it.each([0, 0.3])("agrees within 1e-4 on random inputs (blend %f)", (lastWeight) => {
    const batch = 7;
    const contexts = randomUnitRows(batch * 5, dim, 3);
    const model: ReferenceModel = { manifest: {} as ModelManifest, config, tensors, lastWeight };
    const ref = forward(model, contexts, batch);
    const params = toTfParams(tensors);
    const ours = tfPredict(params, config, contexts, batch, lastWeight);
    for (const p of params.values()) p.dispose();
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    for (let b = 0; b < batch; b++) expect(Math.hypot(...ref.subarray(b * dim, (b + 1) * dim))).toBeCloseTo(1, 5);
  });
});

describe("layers on known answers", () => {
  it("linear is x @ W + b with W stored [in, out]", () => {
    const y = linear(Float32Array.of(1, 2), Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(0.5, 0, -1), 1, 2, 3);
    expect(Array.from(y)).toEqual([1 + 8 + 0.5, 2 + 10, 3 + 12 - 1]);
  });

  it("a GRU cell with zero weights keeps half of h: z = 0.5, n = 0", () => {
    const names = ["w_ir", "w_iz", "w_in", "w_hr", "w_hz", "w_hn", "b_ir", "b_iz", "b_in", "b_hr", "b_hz", "b_hn"];
    const tensors: TensorMap = new Map(names.map((n) => [`gru.0.${n}`, { shape: [], data: new Float32Array(n.startsWith("w") ? 4 : 2) }]));
    const h = gruCell({ tensors }, 0, Float32Array.of(1, -1), Float32Array.of(0.4, -0.8), 1, 2, 2);
    expect(h[0]).toBeCloseTo(0.2, 6);
    expect(h[1]).toBeCloseTo(-0.4, 6);
  });

  it("an LSTM cell with zero weights and forget bias: c' = sigmoid(b_f) c, h' = 0.5 tanh(c')", () => {
    const tensors: TensorMap = new Map();
    for (const g of ["i", "f", "g", "o"]) {
      tensors.set(`lstm.0.w_i${g}`, { shape: [1, 1], data: new Float32Array(1) });
      tensors.set(`lstm.0.w_h${g}`, { shape: [1, 1], data: new Float32Array(1) });
      tensors.set(`lstm.0.b_${g}`, { shape: [1], data: Float32Array.of(g === "f" ? 1 : 0) });
    }
    const { h, c } = lstmCell({ tensors }, 0, Float32Array.of(3), Float32Array.of(0), Float32Array.of(2), 1, 1, 1);
    const sig1 = 1 / (1 + Math.exp(-1));
    expect(c[0]).toBeCloseTo(sig1 * 2, 6);
    expect(h[0]).toBeCloseTo(0.5 * Math.tanh(sig1 * 2), 6);
  });

  it("a residual model with a zero head is copy-last; blend 1 is copy-last too", () => {
    const config: ModelConfig = { arch: "gru", dim: 8, context: 5, hidden: 4, layers: 1, residual: true };
    const tensors = initTensors(config, 1);
    tensors.get("head.w")?.data.fill(0);
    const contexts = randomUnitRows(10, 8, 5);
    const out = forward({ manifest: {} as ModelManifest, config, tensors, lastWeight: 0 }, contexts, 2);
    for (let b = 0; b < 2; b++) for (let j = 0; j < 8; j++) expect(out[b * 8 + j]).toBeCloseTo(contexts[(b * 5 + 4) * 8 + j], 6);
  });
});

describe("presets and format", () => {
  it("sizes: near the report at 768-D, the edge GRU fits 2 MB as INT8 at 512-D", () => {
    const at768 = Object.fromEntries(PRESETS.map((p) => [p, parameterCount(presetConfig(p, 768))]));
    expect(at768.lstm).toBeGreaterThan(4e6);
    expect(at768.lstm).toBeLessThan(6e6);
    expect(at768.gru).toBeGreaterThan(6.5e6);
    expect(at768.gru).toBeLessThan(8e6);
    expect(at768.transformer).toBeGreaterThan(14e6);
    expect(at768.transformer).toBeLessThan(20e6);
    expect(parameterCount(presetConfig("gru-edge", 512))).toBeLessThanOrEqual(2 * 1024 * 1024);
    for (const p of PRESETS) expect(tensorSpecs(presetConfig(p, 512)).every((s) => s.shape.every((n) => n > 0))).toBe(true);
  });

  let root = "";
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lvm-model-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("weights round-trip through encode/decode and a model directory", async () => {
    const config = configs[2];
    const tensors = noisyTensors(config, 2);
    const { entries, bytes } = encodeTensors(tensors);
    const manifest = {
      format: MODEL_FORMAT,
      version: MODEL_VERSION,
      arch: config.arch,
      config,
      encoder: { id: "test", dim },
      blend: { lastWeight: 0.25 },
      training: {},
      split: { seed: 1, fractions: [0.8, 0.1, 0.1], storeDocuments: 0, train: [], val: [], test: [] },
    } satisfies Omit<ModelManifest, "tensors">;
    const decoded = decodeTensors({ ...manifest, tensors: entries } as ModelManifest, bytes);
    for (const [name, t] of tensors) expect(decoded.get(name)?.data).toEqual(t.data);
    await writeModel(join(root, "m"), manifest, tensors);
    const loaded = await readModel(join(root, "m"));
    expect(loaded.lastWeight).toBe(0.25);
    const contexts = randomUnitRows(15, dim, 9);
    const direct = loadModelFromBytes({ ...manifest, tensors: entries } as ModelManifest, bytes);
    expect(forward(loaded, contexts, 3)).toEqual(forward(direct, contexts, 3));
  });
});
