import { writeFileAtomic } from "../fs/atomic-write-node.ts";
import { exportOnnx } from "../lvm/onnx/export.ts";
import { F16_MAX_ABS_DIFF, INT8_MIN_COSINE, validateOnnx } from "../lvm/onnx/validate-node.ts";
import { readModel } from "../lvm/read-model.ts";
import { type Command, UsageError } from "./command.ts";

export const exportOnnxCommand: Command = {
  usage: `lvm export-onnx --model <dir> --out <file.onnx> [--int8 | --f16]

Writes the model (gru, lstm or transformer) as an ONNX graph, opset 17: input 'contexts' float32
[batch, 5, dim] (batch dynamic), output 'next' float32 [batch, dim] (unit vectors, blend applied).
In the same run the file is validated against the reference forward pass on onnxruntime-node and
onnxruntime-web (wasm), at batch 1 and 16 on seeded random unit contexts: f32 must agree to a max abs
diff <= 1e-4; --int8 (INT8 weights per output channel, dynamic per-row INT8 activations, MatMulInteger)
to a per-row cosine >= ${INT8_MIN_COSINE}; --f16 (float16 weights and arithmetic, float32 input, output,
blend and normalisation: for GPUs) to a max abs diff <= ${F16_MAX_ABS_DIFF} (the CPU runtimes run float16
nodes they have no kernel for in float32, so this checks the graph and the weights' rounding).
A failed check exits 1 (the file is still written, for inspection).
The ONNX backends (--backend ort-wasm|ort-node) load <model-dir>/model.onnx (model.int8.onnx for INT8,
model.f16.onnx for the GPU backends' f16 graph) when present and otherwise export in memory.

Options:
  --model <dir>          model directory (model.json + weights.bin)             (required)
  --out <file.onnx>      output file                                             (required)
  --int8                 quantized graph
  --f16                  float16 graph for GPUs (ort-node-webgpu-f16); not with --int8
  --unrolled             f32 GRU/LSTM as unrolled MatMul cells, not the ONNX GRU/LSTM ops
  --backend <b>          validate on ort-node | ort-wasm only                    [both]
  --no-validate          skip the check`,
  options: {
    model: { type: "string" },
    out: { type: "string" },
    int8: { type: "boolean" },
    f16: { type: "boolean" },
    unrolled: { type: "boolean" },
    backend: { type: "string" },
    "no-validate": { type: "boolean" },
  },
  async run(values) {
    if (typeof values.model !== "string") throw new UsageError("--model <dir> is required");
    if (typeof values.out !== "string") throw new UsageError("--out <file.onnx> is required");
    const backend = values.backend as string | undefined;
    if (backend !== undefined && backend !== "ort-node" && backend !== "ort-wasm") {
      throw new UsageError(`--backend must be ort-node or ort-wasm, got '${backend}'`);
    }
    const int8 = values.int8 === true;
    const f16 = values.f16 === true;
    if (int8 && f16) throw new UsageError("--int8 and --f16 are exclusive");
    const precision = int8 ? "INT8" : f16 ? "f16" : "f32";
    const model = await readModel(values.model);
    const started = Date.now();
    const onnx = exportOnnx(model, { int8, f16, unrolled: values.unrolled === true });
    await writeFileAtomic(values.out, onnx);
    console.log(
      `wrote ${values.out}: ${model.config.arch} ${precision}, ${(onnx.length / 1e6).toFixed(2)} MB in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
    if (values["no-validate"] === true) return 0;
    const result = await validateOnnx(onnx, model, { int8, f16 });
    for (const c of result.checks) {
      if (backend && !c.backend.startsWith(backend)) continue;
      console.log(
        `  ${c.ok ? "ok  " : "FAIL"} ${c.backend.padEnd(14)} batch ${String(c.batch).padStart(2)}: max abs diff ${c.maxAbsDiff.toExponential(2)}, min cosine ${c.minCosine.toFixed(6)}`,
      );
    }
    const checked = result.checks.filter((c) => !backend || c.backend.startsWith(backend));
    const ok = checked.every((c) => c.ok);
    console.log(
      ok
        ? `validated against the reference (${int8 ? `cosine >= ${result.tolerance}` : `max abs diff <= ${result.tolerance}`})`
        : `validation FAILED (${int8 ? `cosine >= ${result.tolerance}` : `max abs diff <= ${result.tolerance}`})`,
    );
    return ok ? 0 : 1;
  },
};
