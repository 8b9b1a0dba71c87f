// TF.js backend set-up for training and batched evaluation (Node).
import * as tf from "@tensorflow/tfjs";
import { initTfBackend } from "../encoders/use-lite-node.ts";

let patched = false;

/**
 * The WASM backend's BatchMatMul is 7-9x slower with transposeA/transposeB than without (measured), and
 * backpropagation through x @ W asks for both. This re-registers BatchMatMul so that a transposed operand
 * is transposed explicitly (one Transpose kernel) before the untransposed product.
 */
function patchWasmBatchMatMul(): void {
  if (patched) return;
  const original = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!original || !transpose) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  type Info = { shape: number[]; dataId: object; dtype: string };
  tf.registerKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as {
        inputs: { a: Info; b: Info };
        backend: { disposeData(id: object): void };
        attrs: { transposeA: boolean; transposeB: boolean };
      };
      if (!attrs.transposeA && !attrs.transposeB) return original.kernelFunc(args);
      const swapLast = (t: Info): Info => {
        const perm = t.shape.map((_, i) => i);
        const r = perm.length;
        [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
        return transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } } as never) as unknown as Info;
      };
      const a = attrs.transposeA ? swapLast(inputs.a) : inputs.a;
      const b = attrs.transposeB ? swapLast(inputs.b) : inputs.b;
      const out = original.kernelFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } } as never);
      if (a !== inputs.a) backend.disposeData(a.dataId);
      if (b !== inputs.b) backend.disposeData(b.dataId);
      return out;
    },
  });
  patched = true;
}

/** WASM backend (or LVM_TF_BACKEND) with the fast transposed matmul. */
export async function initLvmBackend(): Promise<void> {
  await initTfBackend();
  if (tf.getBackend() === "wasm") patchWasmBatchMatMul();
}
