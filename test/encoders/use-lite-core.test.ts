// Parity of USE-lite on the WASM core with TF.js: the shared mini vectors are TF.js's output (README of
// ../shared/data/wiki), so the test compares to them without running TF.js. The float64 TypeScript
// reference is checked against them too.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readUseLiteAssets } from "../../src/encoders/use-lite-assets-node.ts";
import type { UseLiteCore } from "../../src/encoders/use-lite-core.ts";
import { readUseLiteCoreFile } from "../../src/encoders/use-lite-core-format.ts";
import { loadUseLiteCoreEncoder, readUseLiteCoreWeights } from "../../src/encoders/use-lite-core-node.ts";
import { useLiteForward } from "../../src/encoders/use-lite-reference.ts";
import { readUseLiteWeights } from "../../src/encoders/use-lite-weights.ts";
import { cosine, MINI_CORPUS, MINI_VECTORS } from "../helpers.ts";

const DIM = 512;
const paragraphs = gunzipSync(readFileSync(MINI_CORPUS))
  .toString("utf8")
  .trim()
  .split("\n")
  .flatMap((line) => JSON.parse(line).paragraphs as string[]);
const tfjs = new Float32Array(new Uint8Array(readFileSync(MINI_VECTORS)).buffer);
// f32 runs ~2.5x slower than INT8: every 8th paragraph by default, all with LVM_PARITY_ALL=1.
const F32_STEP = process.env.LVM_PARITY_ALL ? 1 : 8;
// Embedding the whole tier takes 1-3 minutes of one core (longer on a loaded machine).
const PARITY_TIMEOUT_MS = 900_000;

/** Cosine of ours[i] with TF.js's row rows[i], for every i. */
function cosines(ours: Float32Array | Float64Array, rows: number[]): number[] {
  return rows.map((row, i) => cosine(ours.subarray(i * DIM, (i + 1) * DIM), tfjs.subarray(row * DIM, (row + 1) * DIM)));
}

function worst(cos: number[], rows: number[]): { cos: number; row: number } {
  let k = 0;
  for (let i = 1; i < cos.length; i++) if (cos[i] < cos[k]) k = i;
  return { cos: cos[k], row: rows[k] };
}

describe("USE-lite float64 TypeScript reference", () => {
  it("reproduces TF.js (the shared mini vectors) to 1 - cosine < 1e-6", async () => {
    const assets = await readUseLiteAssets();
    const weights = readUseLiteWeights(assets);
    const { UnigramTokenizer } = await import("../../src/encoders/unigram-tokenizer.ts");
    const tokenizer = new UnigramTokenizer(assets.vocabulary);
    // Spread over the tier: short texts and texts past the 128-token clip.
    const rows = [0, 1163, 2326, 3489, 5233, 6397];
    const ours = new Float64Array(rows.length * DIM);
    rows.forEach((row, i) => {
      ours.set(useLiteForward(tokenizer.encode(paragraphs[row]), weights), i * DIM);
    });
    for (const c of cosines(ours, rows)) expect(1 - c).toBeLessThan(1e-6);
  });
});

describe.each([
  ["int8", 0.999, 1],
  ["f32", 0.99999, F32_STEP],
] as const)("USE-lite on the WASM core, %s", (precision, threshold, step) => {
  let encoder: UseLiteCore;
  beforeAll(async () => {
    encoder = await loadUseLiteCoreEncoder({ precision });
  });
  afterAll(() => encoder?.dispose());

  it(
    `has cosine >= ${threshold} to TF.js on ${step === 1 ? "every" : `every ${step}th`} mini-tier paragraph`,
    async () => {
      expect(tfjs.length / DIM).toBe(paragraphs.length);
      const rows = paragraphs.map((_, i) => i).filter((i) => i % step === 0);
      const vectors = await encoder.embed(rows.map((r) => paragraphs[r]));
      const w = worst(cosines(vectors, rows), rows);
      console.log(`USE-lite core ${precision}: ${rows.length} paragraphs, min cosine to TF.js ${w.cos.toFixed(6)} (row ${w.row})`);
      expect(w.cos).toBeGreaterThanOrEqual(threshold);
    },
    PARITY_TIMEOUT_MS,
  );

  it("gives each text the same vector whatever it is batched with", async () => {
    const texts = ["A short one.", paragraphs[100], "Another short sentence about rivers.", paragraphs[5], paragraphs[6397]];
    const together = await encoder.embed(texts);
    const small = await loadUseLiteCoreEncoder({ precision, maxBatchTokens: 128 });
    try {
      for (const [i, text] of texts.entries()) {
        const alone = small.embedSync([text]);
        expect(Array.from(alone)).toEqual(Array.from(together.subarray(i * DIM, (i + 1) * DIM)));
      }
    } finally {
      small.dispose();
    }
  });

  it("refuses an empty text, naming it", async () => {
    await expect(encoder.embed(["fine", " "])).rejects.toThrow(/text 1 is empty/);
  });
});

describe("USE-lite embedForRanking (7-bit activations in every layer, for the decoder's candidates)", () => {
  it(
    "is within 0.995 cosine of TF.js on the mini tier, not embed's vectors; embed where there are no ranking layers",
    async () => {
      const relaxed = await loadUseLiteCoreEncoder({ precision: "int8", core: "relaxed" });
      const exactOnly = await loadUseLiteCoreEncoder({ precision: "int8", core: "relaxed", ranking: false });
      const plain = await loadUseLiteCoreEncoder({ precision: "int8", core: "simd" });
      try {
        const rows = paragraphs.map((_, i) => i).filter((i) => i % 8 === 0);
        const texts = rows.map((r) => paragraphs[r]);
        const [ranked, exact] = [await relaxed.embedForRanking(texts), await relaxed.embed(texts)];
        const w = worst(cosines(ranked, rows), rows);
        console.log(`USE-lite embedForRanking: ${rows.length} paragraphs, min cosine to TF.js ${w.cos.toFixed(6)} (row ${w.row})`);
        expect(w.cos).toBeGreaterThanOrEqual(0.995);
        expect(Array.from(ranked)).not.toEqual(Array.from(exact)); // other layers ran
        // The extra packings are counted; without them, or on a core without relaxed SIMD, it is embed.
        expect(relaxed.weightBytes).toBeGreaterThan(exactOnly.weightBytes + 3_000_000);
        const some = texts.slice(0, 20);
        expect(Array.from(await exactOnly.embedForRanking(some))).toEqual(Array.from(await exactOnly.embed(some)));
        expect(Array.from(await plain.embedForRanking(some))).toEqual(Array.from(await plain.embed(some)));
        // embed is unchanged by the ranking layers beside it.
        expect(Array.from(await exactOnly.embed(some))).toEqual(Array.from(exact.subarray(0, 20 * DIM)));
      } finally {
        for (const e of [relaxed, exactOnly, plain]) e.dispose();
      }
    },
    PARITY_TIMEOUT_MS,
  );
});

describe("USE-lite core weights file", () => {
  let bytes: Uint8Array;
  beforeAll(async () => {
    bytes = new Uint8Array(await readUseLiteCoreWeights("int8"));
  });

  it("reads back the INT8 file built by npm run build", () => {
    const file = readUseLiteCoreFile(bytes);
    expect(file.precision).toBe("int8");
    expect(file.tensors.get("l1.ffn1.w")?.shape).toEqual([1536, 512]);
    expect(file.tensors.get("l1.ffn1.w")?.data).toBeInstanceOf(Int8Array);
  });

  it("rejects a bad magic, a truncated file and a wrong shape, naming what is wrong", () => {
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect(() => readUseLiteCoreFile(badMagic)).toThrow(/bad magic/);
    expect(() => readUseLiteCoreFile(bytes.subarray(0, bytes.length - 1))).toThrow(/outside the \d+-byte file/);
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
    const header = new TextDecoder().decode(bytes.subarray(16, 16 + headerLength));
    const wrong = new TextEncoder().encode(
      header.replace('"name":"tanh.b","dtype":"f32","shape":[512]', '"name":"tanh.b","dtype":"f32","shape":[511]'),
    );
    expect(wrong.length).toBe(headerLength - 0); // same length: 512 -> 511
    const reshaped = bytes.slice();
    reshaped.set(wrong, 16);
    expect(() => readUseLiteCoreFile(reshaped)).toThrow(/'tanh.b' has shape \[511\], expected \[512\]/);
  });
});
