import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { initTensors } from "../../src/lvm/architectures.ts";
import type { ModelConfig, TensorMap } from "../../src/lvm/model-format.ts";
import { forward, type ReferenceModel } from "../../src/lvm/reference.ts";
import { CoreLvm } from "../../src/lvm/runners/core-lvm.ts";
import { cosine, MINI_VECTORS } from "../helpers.ts";

let core: WasmCore;

/** Random weights everywhere (biases and norms too), so every tensor's role is exercised. */
function randomModel(config: ModelConfig, lastWeight: number, seed: number): ReferenceModel {
  const tensors: TensorMap = initTensors(config, seed);
  let s = seed;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      t.data[i] += (s / 2 ** 32 - 0.5) * 0.1;
    }
  }
  return { manifest: {} as ReferenceModel["manifest"], config, tensors, lastWeight };
}

const dim = 64;
const configs: ModelConfig[] = [
  { arch: "gru", dim, context: 5, hidden: 48, layers: 2, residual: true },
  { arch: "lstm", dim, context: 5, hidden: 32, layers: 2, residual: false },
  { arch: "transformer", dim, context: 5, width: 32, layers: 2, heads: 4, ffn: 64, residual: true },
];

function randomContexts(batch: number, d: number, seed: number): Float32Array {
  let s = seed;
  const x = Float32Array.from({ length: batch * 5 * d }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  for (let r = 0; r < batch * 5; r++) {
    const n = Math.hypot(...x.subarray(r * d, (r + 1) * d));
    for (let j = 0; j < d; j++) x[r * d + j] /= n;
  }
  return x;
}

// Every model runs on both builds of the core: relaxed SIMD (where available) and plain SIMD.
describe.each(["relaxed", "simd"] as const)("on core-%s", (variant) => {
  beforeAll(async () => {
    core = await loadCore(variant);
  });

  describe.each(configs)("CoreLvm $arch", (config) => {
    const model = randomModel(config, config.arch === "gru" ? 0.25 : 0, 7);

    it.each([1, 3, 32])("f32 matches the reference forward within 1e-4 at batch %i", (batch) => {
      const contexts = randomContexts(batch, dim, batch);
      const lvm = new CoreLvm(core, model, "f32");
      const ours = lvm.forward(contexts, batch);
      const ref = forward(model, contexts, batch);
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
      expect(maxDiff).toBeLessThan(1e-4);
      lvm.dispose();
    });

    // Batches 1 and 3 leave rows outside the INT8 kernel's 4-row tiles (5 or 15 context rows, 1 or 3 per step).
    it.each([1, 3, 32])("INT8 stays within cosine 0.99 of the float reference on every row at batch %i", (batch) => {
      const contexts = randomContexts(batch, dim, 99 + batch);
      const lvm = new CoreLvm(core, model, "int8");
      const ours = lvm.forward(contexts, batch);
      const ref = forward(model, contexts, batch);
      for (let b = 0; b < batch; b++)
        expect(cosine(ours.subarray(b * dim, (b + 1) * dim), ref.subarray(b * dim, (b + 1) * dim))).toBeGreaterThan(0.99);
      expect(lvm.weightBytes).toBeLessThan(new CoreLvm(core, model, "f32").weightBytes * 0.5);
      lvm.dispose();
    });
  });
});

it("runs on real 512-D concept vectors (mini tier) with the same answer as the reference", async () => {
  core = await loadCore();
  const vectors = new Float32Array(new Uint8Array(readFileSync(MINI_VECTORS)).buffer);
  const config: ModelConfig = { arch: "gru", dim: 512, context: 5, hidden: 64, layers: 1, residual: true };
  const model = randomModel(config, 0, 3);
  const batch = 4;
  const contexts = vectors.slice(0, batch * 5 * 512);
  const lvm = new CoreLvm(core, model, "f32");
  const ours = lvm.forward(contexts, batch);
  const ref = forward(model, contexts, batch);
  for (let b = 0; b < batch; b++)
    expect(cosine(ours.subarray(b * 512, (b + 1) * 512), ref.subarray(b * 512, (b + 1) * 512))).toBeGreaterThan(0.99999);
  lvm.dispose();
});

it("refuses a layer width the SIMD kernels cannot take, naming the layer", async () => {
  core = await loadCore();
  const config: ModelConfig = { arch: "gru", dim: 20, context: 5, hidden: 16, layers: 1, residual: false };
  expect(() => new CoreLvm(core, randomModel(config, 0, 1), "f32")).toThrow(/layer gru\.0\.x: input width 20 is not a multiple of 16/);
});
