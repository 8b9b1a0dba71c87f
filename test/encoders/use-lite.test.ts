import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Encoder } from "../../src/encoders/types.ts";
import { USE_LITE_DIM } from "../../src/encoders/use-lite.ts";
import { loadUseLiteEncoder } from "../../src/encoders/use-lite-node.ts";
import { cosine, MINI_CORPUS, MINI_VECTORS } from "../helpers.ts";

describe("USE-lite encoder (TF.js WASM)", () => {
  let encoder: Encoder;
  const paragraphs = gunzipSync(readFileSync(MINI_CORPUS))
    .toString("utf8")
    .trim()
    .split("\n")
    .flatMap((line) => JSON.parse(line).paragraphs as string[]);
  const shared = new Float32Array(new Uint8Array(readFileSync(MINI_VECTORS)).buffer);

  beforeAll(async () => {
    encoder = await loadUseLiteEncoder({ batchSize: 8 });
  });
  afterAll(() => encoder?.dispose?.());

  it("reproduces the shared mini vectors to cosine > 0.999 on a spread sample of rows", async () => {
    expect(shared.length / USE_LITE_DIM).toBe(paragraphs.length);
    // Rows spread over the tier, of very different lengths, embedded in one call (so sorted into batches).
    const rows = Array.from({ length: 24 }, (_, i) => Math.floor((i * 6397) / 23));
    const vectors = await encoder.embed(rows.map((r) => paragraphs[r]));
    rows.forEach((row, i) => {
      const ours = vectors.subarray(i * USE_LITE_DIM, (i + 1) * USE_LITE_DIM);
      const theirs = shared.subarray(row * USE_LITE_DIM, (row + 1) * USE_LITE_DIM);
      expect(cosine(ours, theirs)).toBeGreaterThan(0.999);
    });
  });

  it("returns rows in input order whatever the batching", async () => {
    const texts = ["A short one.", paragraphs[100], "Another short sentence about rivers.", paragraphs[5]];
    const together = await encoder.embed(texts);
    for (const [i, text] of texts.entries()) {
      const alone = await encoder.embed([text]);
      expect(cosine(alone, together.subarray(i * USE_LITE_DIM, (i + 1) * USE_LITE_DIM))).toBeGreaterThan(0.9999);
    }
  });

  it("refuses an empty text, naming it", async () => {
    await expect(encoder.embed(["fine", " "])).rejects.toThrow(/text 1 is empty/);
  });
});
