// Sentence files (byte layout, validation on load), sentence splitting, detokenizing, teacher-forcing batches.
import { describe, expect, it } from "vitest";
import { makeBatch } from "../../src/decoder/batches.ts";
import { readSentenceFile, type SentenceSet, sentenceIds, writeSentenceFile } from "../../src/decoder/dataset-format.ts";
import { detokenize, splitSentences } from "../../src/decoder/text.ts";
import { tinyPieces } from "./fixture.ts";

const set: SentenceSet = {
  encoder: "use-lite",
  dim: 4,
  articles: ["12", "7"],
  source: { corpus: "x.jsonl" },
  offsets: Uint32Array.from([0, 3, 7, 8]),
  tokens: Uint16Array.from([6, 7, 8, 9, 10, 11, 12, 13]),
  article: Uint32Array.from([0, 0, 1]),
  vectors: Float32Array.from({ length: 12 }, (_, i) => i / 12),
};

describe("sentence file", () => {
  it("round-trips every field", () => {
    const back = readSentenceFile(writeSentenceFile(set), "s.sent");
    expect(back.articles).toEqual(set.articles);
    expect(back.source).toEqual(set.source);
    expect([...back.offsets]).toEqual([...set.offsets]);
    expect([...back.tokens]).toEqual([...set.tokens]);
    expect([...back.article]).toEqual([...set.article]);
    expect([...back.vectors]).toEqual([...set.vectors]);
    expect([...sentenceIds(back, 1)]).toEqual([9, 10, 11, 12]);
  });

  it("refuses a wrong magic, a truncated file and an article index past the list, naming file and field", () => {
    const bytes = writeSentenceFile(set);
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect(() => readSentenceFile(badMagic, "s.sent")).toThrow(/s\.sent: magic/);
    expect(() => readSentenceFile(bytes.subarray(0, bytes.length - 4), "s.sent")).toThrow(/s\.sent: size: expected/);
    const badArticle = writeSentenceFile({ ...set, article: Uint32Array.from([0, 0, 5]) });
    expect(() => readSentenceFile(badArticle, "s.sent")).toThrow(/article\.2: index 5 past the 2 articles/);
  });
});

describe("text", () => {
  it("splits a paragraph into trimmed sentences", () => {
    expect(splitSentences("The cat sat. It was happy!  Then it left?")).toEqual(["The cat sat.", "It was happy!", "Then it left?"]);
  });

  it("detokenizes: pieces joined, U+2581 as a space, special ids dropped, trimmed", () => {
    expect(detokenize(["<unk>", "<s>", "</s>", "a", "b", "c", "\u2581The", "\u2581cat", "s", "."], [1, 6, 7, 8, 9, 2])).toBe("The cats.");
    expect(detokenize(tinyPieces, [0, 3])).toBe("");
  });
});

describe("batches", () => {
  it("are time-major: <s> then the ids as inputs, the ids then </s> as targets, padding masked", () => {
    const b = makeBatch(set, [2, 0]);
    expect(b.steps).toBe(4);
    // column 0: sentence 2 (one id), column 1: sentence 0 (three ids)
    expect([...b.inputs]).toEqual([1, 1, 13, 6, 2, 7, 2, 8]);
    expect([...b.targets]).toEqual([13, 6, 2, 7, 2, 8, 2, 2]);
    expect([...b.mask]).toEqual([1, 1, 1, 1, 0, 1, 0, 1]);
    expect([...b.vectors.subarray(0, 4)]).toEqual([...set.vectors.subarray(8, 12)]);
  });
});
