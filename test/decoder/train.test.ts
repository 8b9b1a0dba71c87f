// Training end to end on a handful of sentences: the embedding's custom gradient against finite differences of
// the reference loss, and a short run that learns to say each training sentence from its vector (written model
// read back, decoded greedily on the core in INT8).
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { makeBatch } from "../../src/decoder/batches.ts";
import { CoreDecoder } from "../../src/decoder/core-decoder.ts";
import { type SentenceSet, sentenceIds } from "../../src/decoder/dataset-format.ts";
import { greedyDecode } from "../../src/decoder/decode.ts";
import { readDecoder } from "../../src/decoder/model-node.ts";
import { referenceLogits } from "../../src/decoder/reference.ts";
import { BOS_ID, EOS_ID } from "../../src/decoder/text.ts";
import { tfDecoderLoss, toDecoderParams } from "../../src/decoder/tf-decoder.ts";
import { trainDecoder } from "../../src/decoder/train-node.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { tempDir } from "../helpers.ts";
import { tinyConfig, tinyModel, tinySentenceSet, tinySentences } from "./fixture.ts";

const { dim } = tinyConfig;
const sentences = tinySentences;

function fixtureSet(articles: string[]): SentenceSet {
  return tinySentenceSet(sentences, articles);
}

/** Reference mean cross-entropy of the whole fixture (float64). */
function referenceLoss(model: ReturnType<typeof tinyModel>, set: SentenceSet): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < sentences.length; i++) {
    const ids = [...sentenceIds(set, i)];
    const logits = referenceLogits(model, set.vectors.subarray(i * dim, (i + 1) * dim), [BOS_ID, ...ids]);
    [...ids, EOS_ID].forEach((target, t) => {
      const row = logits[t];
      const max = Math.max(...row);
      sum += max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) - row[target];
      n++;
    });
  }
  return sum / n;
}

beforeAll(async () => {
  await initLvmBackend();
});

describe("decoder training", () => {
  it("the token embedding's gradient (scatter-add) matches finite differences of the reference loss", () => {
    const model = tinyModel(3);
    const set = fixtureSet(["a"]);
    const params = toDecoderParams(model.tensors);
    const batch = makeBatch(set, [0, 1, 2, 3]);
    const table = params.get("embed.tokens")!;
    const { grads } = tf.variableGrads(() => tfDecoderLoss(params, tinyConfig, batch), [table]);
    const g = grads[table.name].arraySync() as number[][];
    const E = tinyConfig.embed;
    // Token 6 appears twice (duplicate ids must add up), 17 once, 30 never.
    for (const [id, j] of [
      [6, 3],
      [17, 0],
      [BOS_ID, 5],
      [30, 2],
    ]) {
      const data = model.tensors.get("embed.tokens")!.data;
      const keep = data[id * E + j];
      const eps = 1e-3;
      data[id * E + j] = keep + eps;
      const up = referenceLoss(model, set);
      data[id * E + j] = keep - eps;
      const down = referenceLoss(model, set);
      data[id * E + j] = keep;
      expect(g[id][j]).toBeCloseTo((up - down) / (2 * eps), 3);
    }
    expect(g[30].every((x) => x === 0)).toBe(true);
    for (const p of params.values()) p.dispose();
  });

  it("a short run learns to say each training sentence from its vector (written model, core INT8 greedy)", async () => {
    await using dir = await tempDir("decoder-train-");
    const { history } = await trainDecoder({
      train: fixtureSet(["a"]),
      val: fixtureSet(["b"]),
      out: dir.path,
      config: tinyConfig,
      batch: 4,
      lr: 0.03,
      clip: 5,
      minutes: 5,
      maxSteps: 150,
      validateEvery: 1000,
      valSentences: 4,
      seed: 1,
      sources: {},
    });
    expect(history.at(-1)!.valLoss).toBeLessThan(0.1);
    const { model, manifest } = await readDecoder(dir.path);
    expect(manifest.training.steps).toBe(150);
    const set = fixtureSet(["a"]);
    const decoded = greedyDecode(new CoreDecoder(await loadCore(), model, "int8"), set.vectors, sentences.length);
    expect(decoded.map((h) => h.ids)).toEqual(sentences);
  }, 60_000);
});
