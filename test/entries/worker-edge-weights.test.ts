// The Worker's and the page's USE-lite weights (the INT8 edge variant: embedding and tanh head INT8 too, to fit
// the upload; src/encoders/use-lite-core-format.ts) keep cosine >= 0.999 to TF.js on every mini-tier paragraph.
// The shared mini vectors are TF.js's output, as in test/encoders/use-lite-core.test.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { createUseLiteCoreEncoder } from "../../src/encoders/use-lite-core.ts";
import { readUseLiteCoreFile, USE_LITE_EDGE_FILE } from "../../src/encoders/use-lite-core-format.ts";
import { cosine, MINI_CORPUS, MINI_VECTORS, REPO } from "../helpers.ts";

const DIM = 512;

it("the edge weights file is INT8 throughout and within 0.999 cosine of TF.js on every mini-tier paragraph", async () => {
  const bytes = new Uint8Array(readFileSync(join(REPO, "wasm/build", USE_LITE_EDGE_FILE)));
  const file = readUseLiteCoreFile(bytes);
  expect(file.tensors.get("embed")?.data).toBeInstanceOf(Int8Array);
  expect(file.tensors.get("tanh.w")?.data).toBeInstanceOf(Int8Array);
  const paragraphs = gunzipSync(readFileSync(MINI_CORPUS))
    .toString("utf8")
    .trim()
    .split("\n")
    .flatMap((line) => JSON.parse(line).paragraphs as string[]);
  const tfjs = new Float32Array(new Uint8Array(readFileSync(MINI_VECTORS)).buffer);
  const encoder = createUseLiteCoreEncoder(await loadCore(), bytes);
  try {
    const ours = await encoder.embed(paragraphs);
    let min = 1;
    let at = -1;
    for (let i = 0; i < paragraphs.length; i++) {
      const c = cosine(ours.subarray(i * DIM, (i + 1) * DIM), tfjs.subarray(i * DIM, (i + 1) * DIM));
      if (c < min) [min, at] = [c, i];
    }
    console.log(`USE-lite core int8-edge: ${paragraphs.length} paragraphs, min cosine to TF.js ${min.toFixed(6)} (row ${at})`);
    expect(min).toBeGreaterThanOrEqual(0.999);
  } finally {
    encoder.dispose();
  }
}, 900_000);
