// A tiny decoder with random weights everywhere (biases too), so every tensor's role is exercised.
import type { SentenceSet } from "../../src/decoder/dataset-format.ts";
import type { DecoderConfig, DecoderModel } from "../../src/decoder/model-format.ts";
import { initDecoderTensors } from "../../src/decoder/model-format.ts";
import { random } from "../helpers.ts";

export const tinyConfig: DecoderConfig = { vocab: 40, dim: 32, embed: 16, hidden: 32, maxTokens: 8 };

export function tinyModel(seed = 7, config: DecoderConfig = tinyConfig): DecoderModel {
  const tensors = initDecoderTensors(config, seed);
  let k = seed;
  for (const t of tensors.values()) {
    const noise = random(t.data.length, k++, 0.3);
    for (let i = 0; i < t.data.length; i++) t.data[i] += noise[i];
  }
  // A strong head so that greedy choices are not ties between near-equal logits.
  const head = tensors.get("head.w")!.data;
  for (let i = 0; i < head.length; i++) head[i] *= 4;
  return { config, tensors };
}

/** Pieces of the tiny vocabulary: the 6 special ids, then "▁w6", "▁w7", ... */
export const tinyPieces = ["<unk>", "<s>", "</s>", "r3", "r4", "r5", ...Array.from({ length: 34 }, (_, i) => `\u2581w${i + 6}`)];

export function unitVector(dim: number, seed: number): Float32Array {
  const v = random(dim, seed);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Four short sentences of the tiny vocabulary (ids 6..39) for training tests. */
export const tinySentences: number[][] = [
  [6, 7, 8, 9],
  [10, 11, 12, 13, 14, 15],
  [16, 6, 17],
  [20, 21, 22, 23, 24],
];

/** A sentence set of `sentences` (token ids) with seeded unit vectors (seed `vectorSeed + i` for sentence i). */
export function tinySentenceSet(sentences: readonly number[][], articles: string[], vectorSeed = 50, dim = tinyConfig.dim): SentenceSet {
  const offsets = new Uint32Array(sentences.length + 1);
  sentences.forEach((s, i) => {
    offsets[i + 1] = offsets[i] + s.length;
  });
  const vectors = new Float32Array(sentences.length * dim);
  for (let i = 0; i < sentences.length; i++) vectors.set(unitVector(dim, vectorSeed + i), i * dim);
  return {
    encoder: "t",
    dim,
    articles,
    source: {},
    offsets,
    tokens: Uint16Array.from(sentences.flat()),
    article: new Uint32Array(sentences.length),
    vectors,
  };
}
