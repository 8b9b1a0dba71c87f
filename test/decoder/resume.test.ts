// Faithful resume of `lvm train-decoder`: N steps in one run equal N1 steps, then --resume to N, bit for bit (weights
// and Adam's moments), across an epoch boundary and from mid-epoch; a state that is missing, truncated, corrupted,
// of other options or data, or of another model is refused by name.
import { cp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { SentenceSet } from "../../src/decoder/dataset-format.ts";
import { readDecoder, writeDecoder } from "../../src/decoder/model-node.ts";
import { type TrainDecoderOptions, trainDecoder } from "../../src/decoder/train-node.ts";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { tempDir } from "../helpers.ts";
import { tinyConfig, tinyModel, tinySentenceSet, tinySentences } from "./fixture.ts";

const { dim } = tinyConfig;
// Six sentences, batches of 2: 3 batches an epoch, so 5 steps stop mid-epoch (epoch 2, batch 2 done). After 5 steps
// TF.js's pow(0.999, 6) differs from the product it accumulated (0.999 * ... * 0.999) in the last bit: the cut falls
// where restoring Adam's bias correction with setWeights alone would be caught.
const sentences = [...tinySentences, [25, 26, 27], [28, 29, 30, 31, 32, 33, 34]];

function fixtureSet(articles: string[], vectorSeed = 50): SentenceSet {
  return tinySentenceSet(sentences, articles, vectorSeed);
}

function options(out: string, maxSteps: number, extra: Partial<TrainDecoderOptions> = {}): TrainDecoderOptions {
  return {
    train: fixtureSet(["a"]),
    val: fixtureSet(["b"], 90),
    out,
    config: tinyConfig,
    batch: 2,
    // A large rate and a clip that binds on some steps: a wrong moment or bias correction shows at once.
    lr: 0.03,
    clip: 1,
    minutes: 5,
    maxSteps,
    validateEvery: 4,
    valSentences: 6,
    seed: 3,
    sources: {},
    ...extra,
  };
}

const bytes = async (dir: string, name: string) => new Uint8Array(await readFile(join(dir, name)));

/** The first byte where two files differ (-1: identical), so a failure prints one number, not two 43 KB arrays. */
async function firstDifference(a: string, b: string, name: string): Promise<number> {
  const [x, y] = [await bytes(a, name), await bytes(b, name)];
  if (x.length !== y.length) return Math.min(x.length, y.length);
  return x.findIndex((v, i) => v !== y[i]);
}

beforeAll(async () => {
  await initLvmBackend();
});

describe("decoder training resume", async () => {
  const root = await tempDir("decoder-resume-");
  const whole = join(root.path, "whole");
  const cut = join(root.path, "cut");
  const N = 14;
  const N1 = 5;
  beforeAll(async () => {
    await trainDecoder(options(whole, N));
    await trainDecoder(options(cut, N1));
    return () => root[Symbol.asyncDispose]();
  }, 60_000);

  it("N steps in one run equal N1 steps, then --resume to N: weights and moments bit for bit", async () => {
    const half = join(root.path, "half");
    await cp(cut, half, { recursive: true });
    // Resumed in place (the default of the CLI's --out).
    const { history } = await trainDecoder(options(half, N, { resume: half }));
    expect((await readDecoder(half)).manifest.training.steps).toBe(N);
    expect(await firstDifference(half, whole, "weights.bin"), "weights.bin").toBe(-1);
    expect(await firstDifference(half, whole, "optimizer.bin"), "optimizer.bin").toBe(-1);
    const [a, b] = [
      JSON.parse(await readFile(join(half, "optimizer.json"), "utf8")),
      JSON.parse(await readFile(join(whole, "optimizer.json"), "utf8")),
    ];
    for (const key of ["step", "adam", "position", "tokens", "weights", "moments"]) expect(a[key], key).toEqual(b[key]);
    // The history carries on: validations at 4 (first run), 5 (its end), 8, 12 and 14 (the resumed run).
    expect(history.map((h) => h.step)).toEqual([4, 5, 8, 12, 14]);
    // And the state at N1 was not that of a fresh start: the weights differ from --init (fresh Adam, data order).
    const init = join(root.path, "init");
    await trainDecoder(options(init, N - N1, { init: cut }));
    expect(await firstDifference(init, whole, "weights.bin")).not.toBe(-1);
  }, 60_000);

  it("refuses a directory without a state, and --init with --resume", async () => {
    const plain = join(root.path, "plain");
    await writeDecoder(plain, tinyModel(2), { id: "t", dim }, { steps: 0 });
    await expect(trainDecoder(options(join(root.path, "x"), N, { resume: plain }))).rejects.toThrow(
      `${plain} has no optimizer state (optimizer.json)`,
    );
    await expect(trainDecoder(options(join(root.path, "x"), N, { resume: cut, init: cut }))).rejects.toThrow(
      "--init and --resume exclude each other",
    );
  });

  it("refuses other options and other data, naming the field", async () => {
    const out = join(root.path, "x");
    await expect(trainDecoder(options(out, N, { resume: cut, lr: 0.02 }))).rejects.toThrow(
      "optimizer.json: options.lr: the run was 0.03, this one is 0.02: pass --lr 0.03",
    );
    await expect(trainDecoder(options(out, N, { resume: cut, batch: 3 }))).rejects.toThrow("options.batch: the run was 2, this one is 3");
    await expect(trainDecoder(options(out, N, { resume: cut, seed: 4 }))).rejects.toThrow("options.seed");
    await expect(trainDecoder(options(out, N, { resume: cut, clip: 5 }))).rejects.toThrow("options.clip");
    await expect(trainDecoder(options(out, N, { resume: cut, train: fixtureSet(["a"], 51) }))).rejects.toThrow(
      /optimizer\.json: data\.train\.fnv1a: .* \(not the same sentence file\)/,
    );
    await expect(trainDecoder(options(out, N, { resume: cut, val: fixtureSet(["b", "c"], 90) }))).rejects.toThrow("data.val.articles");
  });

  it("refuses a truncated, corrupted or malformed state, and a state of another model", async () => {
    const copy = async (name: string) => {
      const dir = join(root.path, name);
      await rm(dir, { recursive: true, force: true });
      await cp(cut, dir, { recursive: true });
      return dir;
    };
    const out = join(root.path, "x");
    const truncated = await copy("truncated");
    await truncate(join(truncated, "optimizer.bin"), 100);
    await expect(trainDecoder(options(out, N, { resume: truncated }))).rejects.toThrow(
      `${truncated}/optimizer.bin: 100 bytes, optimizer.json moments.bytes says`,
    );
    const flipped = await copy("flipped");
    const bin = await bytes(flipped, "optimizer.bin");
    bin[1234] ^= 1;
    await writeFile(join(flipped, "optimizer.bin"), bin);
    await expect(trainDecoder(options(out, N, { resume: flipped }))).rejects.toThrow(`${flipped}/optimizer.bin: FNV-1a`);
    const missingBin = await copy("missing-bin");
    await rm(join(missingBin, "optimizer.bin"));
    await expect(trainDecoder(options(out, N, { resume: missingBin }))).rejects.toThrow(`${missingBin}/optimizer.bin is missing`);
    const malformed = await copy("malformed");
    const json = JSON.parse(await readFile(join(malformed, "optimizer.json"), "utf8"));
    json.position.batch = -1;
    await writeFile(join(malformed, "optimizer.json"), JSON.stringify(json));
    await expect(trainDecoder(options(out, N, { resume: malformed }))).rejects.toThrow(
      `${malformed}/optimizer.json: position.batch: expected a non-negative integer, got -1`,
    );
    json.position.batch = 1;
    json.tensors[2].shape = [7];
    await writeFile(join(malformed, "optimizer.json"), JSON.stringify(json));
    await expect(trainDecoder(options(out, N, { resume: malformed }))).rejects.toThrow(
      `${malformed}/optimizer.json: tensors.2: 'cond.b' [7], expected 'cond.b' [${tinyConfig.hidden}]`,
    );
    // The model and its state disagree: weights.bin + model.json of another run (the state of step 5 kept).
    const other = await copy("other");
    await cp(join(whole, "weights.bin"), join(other, "weights.bin"));
    await cp(join(whole, "model.json"), join(other, "model.json"));
    await expect(trainDecoder(options(out, N, { resume: other }))).rejects.toThrow(
      `${other}/optimizer.json: weights: written with weights.bin of`,
    );
  });
}, 120_000);
