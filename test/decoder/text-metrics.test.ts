import { describe, expect, it } from "vitest";
import { corpusBleu, tokenF1, wordTokens } from "../../src/decoder/text-metrics.ts";

describe("text metrics", () => {
  it("word tokens split punctuation and keep case", () => {
    expect(wordTokens("The cat's mat, 1990.")).toEqual(["The", "cat", "'", "s", "mat", ",", "1990", "."]);
  });

  it("BLEU is 100 for identical text and matches hand computations (smoothing, brevity)", () => {
    const ref = wordTokens("the cat sat on the mat");
    expect(corpusBleu([ref], [ref])).toBeCloseTo(100, 8);
    // No shared word: every precision is smoothed to 0.1 / (hypothesis n-grams: 5, 4, 3, 2); 5 words for 6.
    const none = 100 * Math.exp(1 - 6 / 5) * ((0.1 / 5) * (0.1 / 4) * (0.1 / 3) * (0.1 / 2)) ** 0.25;
    expect(corpusBleu([wordTokens("dogs run fast today now")], [ref])).toBeCloseTo(none, 8);
    // "the cat sat on a mat": 1-grams 5/6, 2-grams 3/5, 3-grams 2/4, 4-grams 1/3, same length.
    const hyp = wordTokens("the cat sat on a mat");
    expect(corpusBleu([hyp], [ref])).toBeCloseTo(100 * ((5 / 6) * (3 / 5) * (2 / 4) * (1 / 3)) ** 0.25, 8);
    // A 4-word prefix: every precision 1, brevity exp(1 - 6 / 4).
    expect(corpusBleu([wordTokens("the cat sat on")], [ref])).toBeCloseTo(100 * Math.exp(1 - 6 / 4), 8);
    // Corpus level: counts are summed before dividing.
    expect(corpusBleu([hyp, ref], [ref, ref])).toBeCloseTo(100 * ((11 / 12) * (8 / 10) * (6 / 8) * (4 / 6)) ** 0.25, 8);
  });

  it("token F1 clips repeated tokens", () => {
    expect(tokenF1(["a", "a", "b"], ["a", "b", "c"])).toBeCloseTo((100 * 2 * (2 / 3) * (2 / 3)) / (4 / 3), 8);
    expect(tokenF1(["x"], ["y"])).toBe(0);
    expect(tokenF1([1, 2, 3], [3, 2, 1])).toBeCloseTo(100, 8);
  });
});
