import { beforeAll, describe, expect, it } from "vitest";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { initTensors, presetConfig } from "../../src/lvm/architectures.ts";
import { encodeTensors, MODEL_FORMAT, MODEL_VERSION, type ModelConfig } from "../../src/lvm/model-format.ts";
import { dequantizeTensors, isQuantized, QUANT_SCHEME, type QuantizedManifest, quantizeTensors } from "../../src/lvm/quantized-model.ts";
import { CoreLvm } from "../../src/lvm/runners/core-lvm.ts";

let core: WasmCore;
beforeAll(async () => {
  core = await loadCore();
});

function manifestFor(config: ModelConfig): Omit<QuantizedManifest, "tensors"> {
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    arch: config.arch,
    config,
    encoder: { id: "use-lite", dim: config.dim },
    training: {},
    split: { seed: 1, fractions: [0.8, 0.1, 0.1], storeDocuments: 0, train: [], val: [], test: [] },
    quantization: { scheme: QUANT_SCHEME },
  };
}

describe.each(["gru-edge", "lstm", "transformer"] as const)("INT8 model file (%s)", (preset) => {
  const config = presetConfig(preset, 64);
  const tensors = initTensors(config, 5);

  // Per-column steps are at most max|W| / 127, so every decoded weight is within max|W| / 254.
  it("is at least 70% smaller than float32, and decodes to within half a step of every weight", () => {
    const { entries, bytes } = quantizeTensors(tensors);
    const float = encodeTensors(tensors).bytes;
    expect(bytes.length).toBeLessThan(0.3 * float.length);
    const manifest = { ...manifestFor(config), tensors: entries };
    expect(isQuantized(manifest)).toBe(true);
    const decoded = dequantizeTensors(manifest, bytes);
    expect([...decoded.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const d = decoded.get(name)!;
      expect(d.shape).toEqual(t.shape);
      let maxAbs = 0;
      for (const v of t.data) maxAbs = Math.max(maxAbs, Math.abs(v));
      for (let i = 0; i < t.data.length; i++) expect(Math.abs(d.data[i] - t.data[i])).toBeLessThanOrEqual(maxAbs / 254 + 1e-7);
    }
  });

  it("runs on the core with exactly the codes the core derives from the float model", () => {
    const { entries, bytes } = quantizeTensors(tensors);
    const decoded = dequantizeTensors({ ...manifestFor(config), tensors: entries }, bytes);
    const batch = 4;
    const contexts = Float32Array.from({ length: batch * 5 * 64 }, (_, i) => Math.sin(i * 0.37));
    const fromFloat = new CoreLvm(core, { config, tensors, lastWeight: 0 }, "int8").forward(contexts, batch);
    const fromFile = new CoreLvm(core, { config, tensors: decoded, lastWeight: 0 }, "int8").forward(contexts, batch);
    for (let i = 0; i < fromFloat.length; i++) expect(Math.abs(fromFile[i] - fromFloat[i])).toBeLessThan(1e-5);
  });
});
