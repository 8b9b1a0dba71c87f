// Child process for test/lvm/engine-select.test.ts: onnxruntime-node cannot be resolved here (a resolve hook
// throws as Node does for a missing package), then `auto` opens a runner and prints what it chose.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "onnxruntime-node" || specifier.startsWith("onnxruntime-node/")) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' (hidden by the test)`), { code: "ERR_MODULE_NOT_FOUND" });
    }
    return nextResolve(specifier, context);
  },
});

const { openRunnerForModel } = await import("../../src/lvm/runners/select-node.ts");
const { gpuTestModel } = await import("./gpu-models.ts");
const model = gpuTestModel("gru-edge");
const auto = await openRunnerForModel(model, "auto", { detect: () => ({ real: false, reason: "test" }) });
const forced = await openRunnerForModel(model, "ort-node-int8");
const out = await auto.runner.forward(new Float32Array(5 * 64).fill(0.125), 1);
process.stdout.write(
  `NO-ORT ${JSON.stringify({ auto: auto.runner.id, detail: auto.detail, forced: forced.runner.id, warning: forced.warning, rows: out.length })}\n`,
);
process.exit(0);
