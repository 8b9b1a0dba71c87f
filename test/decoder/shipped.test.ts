// The shipped decoder (models/decoder/, INT8 on the core, as `npm start` and the Worker serve it) says held-out
// sentences back: sentences of the mini tier, which none of its training data holds (it trained on the dev tier past
// dev1k and the large tier), re-embed close to their own vectors. The bounds sit well under what
// `lvm eval-decoder` measures on 1,000 test sentences (refined mean cosine 0.898; docs/decoder.md), well above
// what the earlier CPU-trained decoder gets (0.680), so a wrong or degraded model fails here.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { splitSentences } from "../../src/decoder/text.ts";
import type { VectorDecoder } from "../../src/decoder/vector-decoder.ts";
import { loadVectorDecoder } from "../../src/decoder/vector-decoder-node.ts";
import { loadUseLiteCoreEncoder } from "../../src/encoders/use-lite-core-node.ts";
import { parseCorpusLine } from "../../src/ingest/corpus.ts";
import { readLines } from "../../src/ingest/read-lines.ts";
import { SHIPPED_MODELS_DIR } from "../../src/lvm/load-models-node.ts";
import { MINI_CORPUS, random } from "../helpers.ts";

const DIR = join(SHIPPED_MODELS_DIR, "decoder");

/** The first `n` sentences of 8..24 words of the mini tier, one per article so they differ in topic. */
async function heldOutSentences(n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const { line, lineNumber } of readLines(MINI_CORPUS)) {
    if (out.length >= n) break;
    const doc = parseCorpusLine(line, lineNumber, { kind: "paragraph" });
    const s = splitSentences(doc.units[0]).find((t) => t.split(" ").length >= 8 && t.split(" ").length <= 24);
    if (s) out.push(s);
  }
  return out;
}

describe.runIf(existsSync(join(DIR, "model.json")))("the shipped decoder", () => {
  let decoder: VectorDecoder;
  const encoder = loadUseLiteCoreEncoder({ precision: "int8" });
  beforeAll(async () => {
    decoder = (await loadVectorDecoder(DIR, { encoder: await encoder })).decoder;
  }, 60_000);

  it("says held-out sentences back closer than the earlier decoder could (mean re-embedding cosine >= 0.80)", async () => {
    const sentences = await heldOutSentences(8);
    expect(sentences).toHaveLength(8);
    const vectors = await (await encoder).embed(sentences);
    const decoded = await decoder.decode(vectors, sentences.length);
    const mean = decoded.reduce((a, d) => a + d.cosine, 0) / decoded.length;
    expect(mean).toBeGreaterThanOrEqual(0.8);
    for (const d of decoded) expect(d.text.length).toBeGreaterThan(0);
    // The reported cosine is the text's own: re-embedding it gives the same value.
    const again = await (await encoder).embed(decoded.map((d) => d.text));
    for (let i = 0; i < decoded.length; i++) {
      let dot = 0;
      for (let j = 0; j < 512; j++) dot += again[i * 512 + j] * vectors[i * 512 + j];
      expect(dot).toBeCloseTo(decoded[i].cosine, 3);
    }
  }, 60_000);

  it("answers a random vector with text and its (low) final cosine, so the caller can judge it", async () => {
    const v = Float32Array.from(random(512, 11), (x) => x - 0.5);
    const [d] = await decoder.decode(v, 1);
    expect(d.text.length).toBeGreaterThan(0);
    expect(d.cosine).toBeLessThan(0.5);
  }, 60_000);

  it("refuses malformed vectors by name: wrong size, zeros, NaN", async () => {
    await expect(decoder.decode(new Float32Array(511), 1)).rejects.toThrow(/expected 1 vectors of 512 values \(512\), got 511/);
    await expect(decoder.decode(new Float32Array(512), 1)).rejects.toThrow(/vectors\[0\] is all zeros/);
    const nan = new Float32Array(1024).fill(0.1);
    nan[512 + 7] = Number.NaN;
    await expect(decoder.decode(nan, 2)).rejects.toThrow(/vectors\[1\]\[7\] is NaN/);
  });
});
