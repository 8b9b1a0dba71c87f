// Run by test/lvm/gpu*.test.ts in a child process, with the env of a Vulkan driver set before start (Dawn and the
// Vulkan loader read it once): prints one JSON line. `node test/lvm/gpu-child.ts parity|fallback`.
import { compareRows, randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { forward } from "../../src/lvm/reference.ts";
import { createRunnerForModel, openRunnerForModel } from "../../src/lvm/runners/select-node.ts";
import { DIM, GPU_PRESETS, gpuTestModel } from "./gpu-models.ts";

async function parity() {
  const results = [];
  for (const preset of GPU_PRESETS) {
    const m = gpuTestModel(preset);
    const core = await createRunnerForModel(m, "core-f32");
    for (const backend of ["ort-node-webgpu", "ort-node-webgpu-f16"] as const) {
      const { runner, warning } = await openRunnerForModel(m, backend, { fallback: "core-f32" });
      const checks = [];
      for (const batch of [1, 3]) {
        const contexts = randomContexts(batch, m.config.context, DIM, 10 + batch);
        const got = await runner.forward(contexts, batch);
        checks.push({
          batch,
          vsCore: compareRows(got, await core.forward(contexts, batch), DIM),
          vsReference: compareRows(got, forward(m, contexts, batch), DIM),
        });
      }
      results.push({ preset, backend, id: runner.id, warning, checks });
      runner.dispose();
    }
    core.dispose();
  }
  return results;
}

async function fallback() {
  const m = gpuTestModel("gru-edge");
  const warnings: string[] = [];
  const opened = await openRunnerForModel(m, "ort-node-webgpu", { onWarning: (w) => warnings.push(w) });
  const contexts = randomContexts(2, m.config.context, DIM, 3);
  const got = await opened.runner.forward(contexts, 2);
  return {
    id: opened.runner.id,
    warning: opened.warning,
    runtimeWarnings: warnings,
    vsReference: compareRows(got, forward(m, contexts, 2), DIM),
  };
}

const mode = process.argv[2];
const out = mode === "parity" ? await parity() : mode === "fallback" ? await fallback() : undefined;
if (out === undefined) throw new Error(`usage: gpu-child.ts parity|fallback, got '${mode}'`);
process.stdout.write(`GPU-RESULT ${JSON.stringify(out)}\n`);
// onnxruntime's WebGPU device keeps native threads alive; the answer is out.
process.exit(0);
