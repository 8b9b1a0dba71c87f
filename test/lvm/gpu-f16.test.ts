// The f16 ONNX export for GPUs: half-precision bits, float16 initializers, and the graph's numbers on
// onnxruntime-node's CPU provider (which runs float16 nodes it has no kernel for in float32, so this checks the
// graph and the weights' rounding; float16 arithmetic itself is checked on a GPU by gpu-parity.test.ts).
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { exportOnnx, INPUT_NAME, OUTPUT_NAME } from "../../src/lvm/onnx/export.ts";
import { fromHalfBits, halfBits } from "../../src/lvm/onnx/half.ts";
import { DataType, decodeModel } from "../../src/lvm/onnx/proto.ts";
import { compareRows, randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { forward } from "../../src/lvm/reference.ts";
import { DIM, GPU_PRESETS, gpuTestModel } from "./gpu-models.ts";

describe("f16 export", () => {
  it("halfBits rounds like Math.f16round (nearest even, subnormals, overflow, NaN)", () => {
    const values = [
      0,
      -0,
      1,
      -1,
      1 / 3,
      65504,
      65519.99,
      65520,
      1e6,
      -1e6,
      6e-8,
      2.9802322387695312e-8,
      2.98e-8,
      1e-30,
      6.1e-5,
      Number.NaN,
    ];
    let seed = 1;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values.push((seed / 2 ** 32 - 0.5) * 2 ** ((seed % 40) - 20));
    }
    for (const v of values) {
      const want = (Math as unknown as { f16round(x: number): number }).f16round(Math.fround(v));
      const got = fromHalfBits(halfBits(v));
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else expect(Object.is(got, want), `${v}: ${got} vs ${want}`).toBe(true);
    }
  });

  it("stores float initializers as FLOAT16, about half the f32 size, and refuses int8 + f16", () => {
    const m = gpuTestModel("gru");
    const f32 = exportOnnx(m);
    const f16 = exportOnnx(m, { f16: true });
    expect(f16.length).toBeLessThan(f32.length * 0.55);
    const graph = (decodeModel(f16) as { graph: { initializer: { dataType: number; name: string }[] } }).graph;
    const floats = graph.initializer.filter((t) => t.dataType === DataType.FLOAT || t.dataType === DataType.FLOAT16);
    // float32 only in the tail: the blend's and the normalisation's scalars.
    expect(floats.filter((t) => t.dataType === DataType.FLOAT).length).toBeLessThanOrEqual(4);
    expect(floats.filter((t) => t.dataType === DataType.FLOAT16).length).toBeGreaterThan(4);
    expect(() => exportOnnx(m, { f16: true, int8: true })).toThrow(/exclusive/);
  });

  for (const preset of GPU_PRESETS) {
    it(`${preset}: the f16 graph runs on onnxruntime-node within 5e-3 (cosine 0.9995) of the float32 reference`, async () => {
      // No residual and no blend, so the difference is the network's, not diluted by the copied last context.
      const base = gpuTestModel(preset);
      const m = { ...base, config: { ...base.config, residual: false }, lastWeight: 0 };
      for (const options of [{ f16: true }, { f16: true, unrolled: true }]) {
        const session = await ort.InferenceSession.create(exportOnnx(m, options));
        try {
          const batch = 4;
          const contexts = randomContexts(batch, m.config.context, DIM, 2);
          const out = await session.run({ [INPUT_NAME]: new ort.Tensor("float32", contexts, [batch, m.config.context, DIM]) });
          expect(out[OUTPUT_NAME].type).toBe("float32");
          const c = compareRows(out[OUTPUT_NAME].data as Float32Array, forward(m, contexts, batch), DIM);
          expect(c.maxAbsDiff).toBeLessThanOrEqual(5e-3);
          expect(c.minCosine).toBeGreaterThanOrEqual(0.9995);
          expect(c.maxAbsDiff).toBeGreaterThan(0); // float16 weights do differ: the test would see an f32 graph
        } finally {
          await session.release();
        }
      }
    });
  }
});
