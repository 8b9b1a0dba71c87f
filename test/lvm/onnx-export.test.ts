import * as ortNode from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { initTensors, type Preset, presetConfig } from "../../src/lvm/architectures.ts";
import type { ModelConfig } from "../../src/lvm/model-format.ts";
import { type ExportOptions, exportOnnx, INPUT_NAME, OUTPUT_NAME } from "../../src/lvm/onnx/export.ts";
import { decodeModel } from "../../src/lvm/onnx/proto.ts";
import { compareRows, randomContexts, validateOnnx } from "../../src/lvm/onnx/validate-node.ts";
import { forward, type ReferenceModel } from "../../src/lvm/reference.ts";
import { createOrtWebRunner } from "../../src/lvm/runners/ort-web-node.ts";

const DIM = 64;

function model(preset: Preset, overrides: Partial<ModelConfig> = {}, lastWeight = 0.25): ReferenceModel {
  const config = { ...presetConfig(preset, DIM), ...overrides } as ModelConfig;
  return { manifest: null as never, config, tensors: initTensors(config, 11), lastWeight };
}

/** Runs ONNX bytes on onnxruntime-node and onnxruntime-web at batch 1 and 7 (one session each: dynamic batch). */
async function runBoth(onnx: Uint8Array, m: ReferenceModel) {
  const { context, dim } = m.config;
  const node = await ortNode.InferenceSession.create(onnx);
  const web = await createOrtWebRunner(onnx, { context, dim });
  const results = [];
  try {
    for (const batch of [1, 7]) {
      const contexts = randomContexts(batch, context, dim, batch);
      const expected = forward(m, contexts, batch);
      const fromNode = (await node.run({ [INPUT_NAME]: new ortNode.Tensor("float32", contexts, [batch, context, dim]) }))[OUTPUT_NAME];
      expect(fromNode.dims).toEqual([batch, dim]);
      results.push({
        batch,
        node: compareRows(fromNode.data as Float32Array, expected, dim),
        web: compareRows(await web.forward(contexts, batch), expected, dim),
      });
    }
  } finally {
    await node.release();
    web.dispose();
  }
  return results;
}

describe("exportOnnx", () => {
  const cases: [Preset, ExportOptions][] = [
    ["gru", {}],
    ["gru", { unrolled: true }],
    ["lstm", {}],
    ["lstm", { unrolled: true }],
    ["transformer", {}],
    ["gru-edge", {}],
  ];
  for (const [preset, options] of cases) {
    it(`${preset}${options.unrolled ? " (unrolled)" : ""} f32 matches the reference on onnxruntime-node and -web to 1e-4`, async () => {
      const m = model(preset);
      for (const r of await runBoth(exportOnnx(m, options), m)) {
        expect(r.node.maxAbsDiff).toBeLessThanOrEqual(1e-4);
        expect(r.web.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      }
    });
  }

  it("handles models without residual or blend", async () => {
    const m = model("lstm", { residual: false }, 0);
    for (const r of await runBoth(exportOnnx(m), m)) expect(r.web.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  });

  // No residual and no blend, so the cosine measures the quantised network itself, not the copied last context.
  for (const preset of ["gru", "lstm", "transformer"] as const) {
    for (const int8Activations of ["tensor", "row"] as const) {
      it(`${preset} int8 (${int8Activations} activations) stays within cosine 0.995 of the f32 reference`, async () => {
        const m = model(preset, { residual: false }, 0);
        const onnx = exportOnnx(m, { int8: true, int8Activations });
        expect(onnx.length).toBeLessThan(exportOnnx(m).length / 2);
        for (const r of await runBoth(onnx, m)) {
          expect(r.node.minCosine).toBeGreaterThanOrEqual(0.995);
          expect(r.web.minCosine).toBeGreaterThanOrEqual(0.995);
        }
      });
    }
  }

  it("writes opset 17 with a symbolic batch axis and the config in the metadata", () => {
    const m = model("gru");
    const decoded = decodeModel(exportOnnx(m)) as {
      irVersion: number;
      opsetImport: { version: number }[];
      graph: { input: { name: string; type: { tensorType: { shape: { dim: { dimParam?: string; dimValue?: number }[] } } } }[] };
      metadataProps: { key: string; value: string }[];
    };
    expect(decoded.irVersion).toBe(8);
    expect(decoded.opsetImport[0].version).toBe(17);
    expect(decoded.graph.input[0].name).toBe("contexts");
    expect(decoded.graph.input[0].type.tensorType.shape.dim).toEqual([{ dimParam: "batch" }, { dimValue: 5 }, { dimValue: DIM }]);
    expect(JSON.parse(decoded.metadataProps.find((p) => p.key === "config")!.value)).toEqual(m.config);
  });

  it("validateOnnx reports a wrong model as failed", async () => {
    const m = model("gru");
    const other = { ...m, tensors: initTensors(m.config, 12) };
    const result = await validateOnnx(exportOnnx(other), m, { batch: 3 });
    expect(result.ok).toBe(false);
    expect((await validateOnnx(exportOnnx(m), m, { batch: 3 })).ok).toBe(true);
  });
});
