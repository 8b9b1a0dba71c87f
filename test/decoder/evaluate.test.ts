// The evaluation loop and the VectorDecoder API on the tiny decoder with a stand-in encoder.
import { describe, expect, it } from "vitest";
import type { SentenceSet } from "../../src/decoder/dataset-format.ts";
import { evaluateDecoder, generationLimit } from "../../src/decoder/evaluate.ts";
import { ReferenceDecoder } from "../../src/decoder/reference.ts";
import { decodeAndRefine, type EmbedTexts } from "../../src/decoder/refine.ts";
import { EOS_ID } from "../../src/decoder/text.ts";
import { createVectorDecoder } from "../../src/decoder/vector-decoder.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { fnv1a } from "../../src/math/fnv1a.ts";
import { tinyConfig, tinyModel, tinyPieces, unitVector } from "./fixture.ts";

const { dim } = tinyConfig;
const runner = new ReferenceDecoder(tinyModel());
const embed: EmbedTexts = async (texts) => {
  const out = new Float32Array(texts.length * dim);
  for (const [i, t] of texts.entries()) out.set(unitVector(dim, fnv1a(new TextEncoder().encode(t))), i * dim);
  return out;
};

/** Sentences 0 and 1 have the same pieces (and nearly the same vector); 2 and 3 are far. */
function testSet(): SentenceSet {
  const ids = [
    [6, 7, 8],
    [6, 7, 8],
    [9, 10],
    [11, 12, 13],
  ];
  const offsets = Uint32Array.from([0, 3, 6, 8, 11]);
  const vectors = new Float32Array(4 * dim);
  vectors.set(unitVector(dim, 1), 0);
  vectors.set(
    unitVector(dim, 1).map((x, i) => x + (i === 0 ? 1e-3 : 0)),
    dim,
  );
  vectors.set(unitVector(dim, 2), 2 * dim);
  vectors.set(unitVector(dim, 3), 3 * dim);
  return {
    encoder: "t",
    dim,
    articles: ["a"],
    source: {},
    offsets,
    tokens: Uint16Array.from(ids.flat()),
    article: new Uint32Array(4),
    vectors,
  };
}

describe("evaluateDecoder", () => {
  it("retrieval never answers with the true sentence or one with the same pieces; rows per step", async () => {
    const report = await evaluateDecoder({
      runner,
      embed,
      pieces: tinyPieces,
      test: testSet(),
      extraStores: [],
      sentences: 4,
      refine: { steps: 2, beam: 2, samples: 2 },
    });
    expect(report.sentences).toBe(4);
    expect(report.unit).toBe("sentence");
    expect(report.rows[0].name).toBe("retrieval (nearest stored sentence, true one removed)");
    expect(report.rows.map((r) => r.name.split(" ")[0] + (r.name.startsWith("step") ? r.name.split(" ")[1] : ""))).toEqual([
      "retrieval",
      "greedy",
      "step0",
      "step1",
      "step2",
    ]);
    for (const e of report.examples) expect(e.retrieval).not.toBe(e.truth);
    expect(report.rows[0].exactMatch).toBe(0);
    // Later steps keep the best text so far: the mean cosine never falls.
    expect(report.rows[3].meanCosine).toBeGreaterThanOrEqual(report.rows[2].meanCosine);
    expect(report.rows[4].meanCosine).toBeGreaterThanOrEqual(report.rows[3].meanCosine);
    for (const r of report.rows.slice(1)) expect(r.beatsRetrieval).toBeGreaterThanOrEqual(0);
  });
});

describe("generation length (paragraphs are not cut at the model's sentence length)", () => {
  /** The tiny decoder (maxTokens 8) made never to choose </s>: every text runs to the length limit. */
  const endless = (() => {
    const model = tinyModel();
    model.tensors.get("head.b")!.data[EOS_ID] = -1e4;
    return new ReferenceDecoder(model);
  })();
  /** The test set with one more item of 12 pieces (a "paragraph" past the model's 8). */
  function withLongItem(): SentenceSet {
    const base = testSet();
    const long = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
    const vectors = new Float32Array(5 * dim);
    vectors.set(base.vectors);
    vectors.set(unitVector(dim, 4), 4 * dim);
    return {
      ...base,
      offsets: Uint32Array.from([...base.offsets, base.tokens.length + long.length]),
      tokens: Uint16Array.from([...base.tokens, ...long]),
      article: new Uint32Array(5),
      vectors,
    };
  }

  it("the limit is the model's length or the test set's longest item, whichever is more", () => {
    expect(generationLimit(8, testSet())).toBe(8);
    expect(generationLimit(8, withLongItem())).toBe(12);
    expect(generationLimit(2, testSet())).toBe(3);
  });

  it("decodeAndRefine generates up to maxTokens pieces (default: the model's)", async () => {
    const v = unitVector(dim, 9);
    const short = await decodeAndRefine(endless, embed, tinyPieces, v, { steps: 1, beam: 2, samples: 2 });
    const long = await decodeAndRefine(endless, embed, tinyPieces, v, { steps: 1, beam: 2, samples: 2, maxTokens: 12 });
    for (const h of short.history) expect(h.ids).toHaveLength(8);
    for (const h of long.history) expect(h.ids).toHaveLength(12);
  });

  it("evaluateDecoder decodes every row, greedy and refined, up to the test set's longest item", async () => {
    const evaluate = (maxTokens?: number) =>
      evaluateDecoder({
        runner: endless,
        embed,
        pieces: tinyPieces,
        test: withLongItem(),
        extraStores: [],
        sentences: 5,
        refine: { steps: 1, beam: 2, samples: 2, maxTokens },
      });
    const report = await evaluate();
    expect(report.options.maxTokens).toBe(12);
    // tinyPieces are one word each: every generated text has 12 words.
    for (const row of report.rows.slice(1)) expect(row.meanWords).toBe(12);
    const capped = await evaluate(5);
    for (const row of capped.rows.slice(1)) expect(row.meanWords).toBe(5);
  });
});

describe("createVectorDecoder", () => {
  const encoder: Encoder = { id: "t", dim, embed: (texts) => embed(texts) };
  const decoder = createVectorDecoder(runner, encoder, tinyPieces);

  it("decodes each vector to a text with its cosine and steps", async () => {
    const vectors = new Float32Array(2 * dim);
    vectors.set(unitVector(dim, 5), 0);
    vectors.set(unitVector(dim, 6), dim);
    const out = await decoder.decode(vectors, 2, { steps: 2 });
    expect(out).toHaveLength(2);
    for (const d of out) {
      expect(d.text.length).toBeGreaterThan(0);
      expect(d.cosine).toBeGreaterThanOrEqual(-1);
      expect(d.steps).toBeLessThanOrEqual(2);
    }
  });

  it("ranks candidates with the encoder's embedForRanking where it has one, and re-embeds only the history with embed", async () => {
    const [ranked, embedded]: string[][] = [[], []];
    const ranking: Encoder = {
      id: "t",
      dim,
      embed: (texts) => {
        embedded.push(...texts);
        return embed(texts);
      },
      embedForRanking: (texts) => {
        ranked.push(...texts);
        return embed(texts);
      },
    };
    const [out] = await createVectorDecoder(runner, ranking, tinyPieces).decode(unitVector(dim, 5), 1, { steps: 2 });
    expect(ranked.length).toBeGreaterThan(embedded.length);
    expect(new Set(embedded)).toEqual(new Set(out.history.map((h) => h.text)));
    expect(embedded).toContain(out.text);
  });

  it("names the bad row of a batch before decoding any, and refuses a count that does not fit", async () => {
    const vectors = new Float32Array(2 * dim);
    vectors.set(unitVector(dim, 5), 0);
    await expect(decoder.decode(vectors, 2)).rejects.toThrow("vectors[1] is all zeros");
    await expect(decoder.decode(vectors, 3)).rejects.toThrow(`expected 3 vectors of ${dim} values`);
  });

  it("refuses an encoder of another width or a vocabulary of another size", () => {
    expect(() => createVectorDecoder(runner, { ...encoder, dim: 8 }, tinyPieces)).toThrow(/reads 32-D vectors/);
    expect(() => createVectorDecoder(runner, encoder, tinyPieces.slice(1))).toThrow(/40 pieces/);
  });

  it("takes a corrector's target vectors at the encoder's width (half its conditioning)", async () => {
    const corrector = new ReferenceDecoder(tinyModel(7, { ...tinyConfig, dim: 2 * dim, corrector: true }));
    const d = createVectorDecoder(corrector, encoder, tinyPieces);
    expect(d.dim).toBe(dim);
    const [out] = await d.decode(unitVector(dim, 5), 1, { steps: 1 });
    expect(out.text.length).toBeGreaterThan(0);
    expect(() => createVectorDecoder(corrector, { ...encoder, dim: 2 * dim }, tinyPieces)).toThrow(/reads 32-D vectors/);
  });
});
