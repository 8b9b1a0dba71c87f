// `buildSentenceFile` on a tiny corpus with the real core INT8 USE-lite encoder: whole paragraphs (--unit paragraph)
// or sentences, the token filters, and paragraphs the encoder would read only the beginning of.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sentenceCount, sentenceIds } from "../../src/decoder/dataset-format.ts";
import { buildSentenceFile, readSentenceSet } from "../../src/decoder/dataset-node.ts";
import { detokenize } from "../../src/decoder/text.ts";
import { readUseLitePieces } from "../../src/decoder/vocabulary-node.ts";
import type { UseLiteCore } from "../../src/encoders/use-lite-core.ts";
import { loadUseLiteCoreEncoder } from "../../src/encoders/use-lite-core-node.ts";
import { tempDir } from "../helpers.ts";

const twoSentences = "The river flows through the old city. It was used for trade for many centuries.";
const tooShort = "Yes.";
// About 45 words: past a sentence's 32 tokens as one text, within a paragraph's 128; each sentence is 4..32 tokens.
const longer =
  "The castle was built on a hill above the town in the twelfth century. Its walls were made of stone from a quarry near the river. " +
  "Later the family who owned it added a chapel and a great hall where they held feasts.";
// Over 128 tokens: the encoder would embed its beginning only, so it can be no paragraph of the file.
const tooLong = Array.from({ length: 30 }, (_, i) => `Sentence number ${i + 1} is here.`).join(" ");

const corpus = [
  { id: "1", title: "A", paragraphs: [twoSentences, tooShort, longer] },
  { id: "2", title: "B", paragraphs: [tooLong, "  The bridge was opened in the spring of that year.  "] },
];

describe("buildSentenceFile", async () => {
  const dir = await tempDir("decoder-data-");
  const path = join(dir.path, "corpus.jsonl");
  let encoder: UseLiteCore;
  let pieces: string[];
  beforeAll(async () => {
    await writeFile(path, `${corpus.map((d) => JSON.stringify(d)).join("\n")}\n`);
    [encoder, pieces] = await Promise.all([loadUseLiteCoreEncoder({ precision: "int8" }), readUseLitePieces()]);
  });
  afterAll(() => dir[Symbol.asyncDispose]());

  const build = async (name: string, options: { unit?: "sentence" | "paragraph"; minTokens?: number; maxTokens?: number }) => {
    const out = join(dir.path, name);
    await buildSentenceFile({ corpus: path, out, encoder, ...options });
    const set = await readSentenceSet(out);
    const texts = Array.from({ length: sentenceCount(set) }, (_, i) => detokenize(pieces, sentenceIds(set, i)));
    return { set, texts };
  };

  it("the fixture is what it says: token counts of its paragraphs", () => {
    expect(encoder.tokenize(twoSentences).length).toBeLessThanOrEqual(32);
    expect(encoder.tokenize(tooShort).length).toBeLessThan(4);
    expect(encoder.tokenize(longer).length).toBeGreaterThan(32);
    expect(encoder.tokenize(longer).length).toBeLessThanOrEqual(128);
    expect(encoder.truncates(tooLong)).toBe(true);
  });

  it("--unit paragraph: whole paragraphs, trimmed, in order; too short and past 128 tokens dropped; vectors of exactly those ids", async () => {
    const { set, texts } = await build("p.sent", { unit: "paragraph" });
    expect(texts).toEqual([twoSentences, longer, "The bridge was opened in the spring of that year."]);
    expect([...set.article]).toEqual([0, 0, 1]);
    expect(set.articles).toEqual(["1", "2"]);
    expect(set.source.unit).toBe("paragraph");
    expect(set.source.maxTokens).toBe(128);
    const direct = encoder.embedSync(texts);
    for (let i = 0; i < direct.length; i++) expect(set.vectors[i]).toBeCloseTo(direct[i], 5);
  });

  it("--unit paragraph applies the token filter", async () => {
    const n = encoder.tokenize(twoSentences).length;
    expect((await build("p20.sent", { unit: "paragraph", maxTokens: n })).texts).toEqual([
      twoSentences,
      "The bridge was opened in the spring of that year.",
    ]);
    expect((await build("p-min.sent", { unit: "paragraph", minTokens: n + 1 })).texts).toEqual([longer]);
  });

  it("sentence mode (the default) is unchanged: each sentence of 4..32 tokens", async () => {
    const { texts, set } = await build("s.sent", {});
    expect(texts).toEqual([
      "The river flows through the old city.",
      "It was used for trade for many centuries.",
      "The castle was built on a hill above the town in the twelfth century.",
      "Its walls were made of stone from a quarry near the river.",
      "Later the family who owned it added a chapel and a great hall where they held feasts.",
      ...Array.from({ length: 30 }, (_, i) => `Sentence number ${i + 1} is here.`),
      "The bridge was opened in the spring of that year.",
    ]);
    expect(set.source.maxTokens).toBe(32);
  });

  it("refuses a token limit past the encoder's 128", async () => {
    await expect(build("x.sent", { unit: "paragraph", maxTokens: 129 })).rejects.toThrow(/past USE-lite's 128/);
  });
});
