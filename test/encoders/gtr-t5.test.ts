import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GTR_T5_BASE_ID, GTR_T5_BASE_VEC2TEXT_ID, meanPool, parseGtrEncoderId, readSafetensors } from "../../src/encoders/gtr-t5.ts";
import type { GtrEncoder } from "../../src/encoders/gtr-t5-encoder.ts";
import { loadGtrT5Encoder } from "../../src/encoders/gtr-t5-node.ts";
import { encoderEntry } from "../../src/encoders/registry-node.ts";
import { maxAbsDiff, tempDir } from "../helpers.ts";
import { referenceEmbed } from "./fixtures/t5-reference.ts";
import { safetensorsF16, type TinyGtrFiles, tinyGtrFiles, torchBinF16, writeFiles } from "./fixtures/tiny-gtr.ts";

const DIM = 768;
const TEXTS = ["the cat sat on the mat", "a dog ran", "dogs", "the cat", "Zebra!", ""];
// Ids in TINY_VOCAB: ▁the 3, ▁cat 4, ▁sat 5, ▁on 6, ▁mat 7, ▁a 8, ▁dog 9, ▁ran 10, s 11, ▁ 12, other letters 13..37; </s> 1, <unk> 2.
const EXPECTED_IDS = [
  [3, 4, 5, 6, 3, 7, 1],
  [8, 9, 10, 1],
  [9, 11, 1],
  [3, 4, 1],
];

describe("GTR-T5 encoder (tiny generated T5, transformers.js, offline)", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fixture: TinyGtrFiles;
  let st: GtrEncoder;
  let v2t: GtrEncoder;

  beforeAll(async () => {
    dir = await tempDir("lvm-gtr-");
    fixture = tinyGtrFiles();
    await writeFiles(join(dir.path, "gtr-t5-base"), fixture.files);
    st = await loadGtrT5Encoder({ modelsDir: dir.path });
    v2t = await loadGtrT5Encoder({ modelsDir: dir.path, head: "vec2text" });
  });
  afterAll(async () => {
    st?.dispose();
    v2t?.dispose();
    await dir[Symbol.asyncDispose]();
  });

  it("has the ids and dims of its heads", () => {
    expect([st.id, st.dim, st.head, st.dtype, st.maxTokens]).toEqual([GTR_T5_BASE_ID, DIM, "sentence-transformers", "fp32", 512]);
    expect([v2t.id, v2t.dim, v2t.head, v2t.maxTokens]).toEqual([GTR_T5_BASE_VEC2TEXT_ID, DIM, "vec2text", 128]);
    expect(parseGtrEncoderId("gtr-t5-base+vec2text")).toEqual({ model: "gtr-t5-base", head: "vec2text" });
    expect(parseGtrEncoderId("gtr-t5-base")).toEqual({ model: "gtr-t5-base", head: "sentence-transformers" });
  });

  it("tokenizes with the Unigram tokenizer.json: best pieces, </s> appended, unknown symbols as <unk>", async () => {
    expect(await st.tokenize(TEXTS.slice(0, 4))).toEqual(EXPECTED_IDS);
    const [zebra, empty] = await st.tokenize(["Zebra!", ""]);
    expect(zebra).toContain(2);
    expect(zebra.at(-1)).toBe(1);
    expect(empty).toEqual([1]);
  });

  it("sentence-transformers head: mean pool, Dense, L2 norm, equal to the plain TypeScript forward", async () => {
    const ids = await st.tokenize(TEXTS);
    const got = await st.embed(TEXTS);
    expect(got.length).toBe(TEXTS.length * DIM);
    for (let r = 0; r < TEXTS.length; r++) {
      const row = got.subarray(r * DIM, (r + 1) * DIM);
      const want = referenceEmbed(fixture.weights, ids[r], "sentence-transformers");
      expect(maxAbsDiff(row, want)).toBeLessThan(2e-5);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
  });

  it("vec2text head: the raw mean-pooled encoder output (no Dense, not normalised)", async () => {
    const ids = await v2t.tokenize(TEXTS);
    const got = await v2t.embed(TEXTS);
    for (let r = 0; r < TEXTS.length; r++) {
      const row = got.subarray(r * DIM, (r + 1) * DIM);
      const want = referenceEmbed(fixture.weights, ids[r], "vec2text");
      const scale = Math.max(...want.map(Math.abs));
      expect(maxAbsDiff(row, want) / scale).toBeLessThan(2e-5);
    }
    // Not unit length: the final RMS norm makes it about sqrt(dim) times the layer-norm gain.
    expect(Math.hypot(...got.subarray(0, DIM))).toBeGreaterThan(5);
  });

  it("gives each text the same vector alone or in a padded batch (the mask hides padding)", async () => {
    const batch = await st.embed(TEXTS);
    for (const r of [0, 2, 5]) {
      const alone = await st.embed([TEXTS[r]]);
      expect(maxAbsDiff(alone, batch.subarray(r * DIM, (r + 1) * DIM))).toBeLessThan(1e-5);
    }
  });

  it("truncates to the head's token limit, keeping </s> (vec2text: 128 tokens)", async () => {
    const long = Array.from({ length: 200 }, () => "the cat").join(" ");
    const [ids] = await v2t.tokenize([long]);
    expect(ids.length).toBe(128);
    expect(ids.at(-1)).toBe(1);
    const got = await v2t.embed([long]);
    const want = referenceEmbed(fixture.weights, ids, "vec2text");
    expect(maxAbsDiff(got, want) / Math.max(...want.map(Math.abs))).toBeLessThan(2e-5);
    expect((await st.tokenize([long]))[0].length).toBe(401);
  });

  it("pools only the positions the mask keeps", () => {
    // 2 rows, 3 positions, dim 2; row 1 has one padded position holding garbage.
    const hidden = new Float32Array([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 999, 999]);
    expect(Array.from(meanPool(hidden, [1, 1, 1, 1, 1, 0], 2, 3, 2))).toEqual([3, 4, 20, 30]);
  });

  it("reads float16 safetensors exactly", () => {
    const values = new Float32Array([0, 1, -2.5, 0.0009765625, 65504, -0.333251953125]);
    const t = readSafetensors(safetensorsF16("w", [2, 3], values)).get("w")!;
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual(Array.from(values));
  });

  it("reads an older torch 2_Dense/pytorch_model.bin when model.safetensors is absent", async () => {
    await using copy = await tempDir("lvm-gtr-torch-");
    const files = new Map(fixture.files);
    files.delete("2_Dense/model.safetensors");
    files.set("2_Dense/pytorch_model.bin", torchBinF16("linear.weight", fixture.weights.dense));
    await writeFiles(join(copy.path, "gtr-t5-base"), files);
    const enc = await loadGtrT5Encoder({ modelsDir: copy.path });
    expect(maxAbsDiff(await enc.embed(TEXTS), await st.embed(TEXTS))).toBe(0);
    enc.dispose();
  });

  it("names the missing file and the pull command", async () => {
    await using empty = await tempDir("lvm-gtr-missing-");
    await expect(loadGtrT5Encoder({ modelsDir: empty.path })).rejects.toThrow(
      `encoder 'gtr-t5-base': missing ${join(empty.path, "gtr-t5-base", "config.json")} (the T5 encoder configuration). Fetch the model with: lvm models pull gtr-t5-base`,
    );
    await using partial = await tempDir("lvm-gtr-partial-");
    const files = new Map(fixture.files);
    files.delete("2_Dense/model.safetensors");
    await writeFiles(join(partial.path, "gtr-t5-base"), files);
    await expect(loadGtrT5Encoder({ modelsDir: partial.path })).rejects.toThrow(
      /missing .*2_Dense\/model\.safetensors .*lvm models pull gtr-t5-base/,
    );
    await rm(join(partial.path, "gtr-t5-base", "onnx"), { recursive: true });
    await expect(loadGtrT5Encoder({ modelsDir: partial.path, head: "vec2text" })).rejects.toThrow(
      /encoder 'gtr-t5-base\+vec2text': missing .*onnx\/model_quantized\.onnx \(the ONNX T5 encoder; or onnx\/model\.onnx \(float32\)\)/,
    );
  });

  it("is registered for lvm ingest under both ids, 768-D, loading from LVM_MODELS_DIR", async () => {
    expect(encoderEntry(GTR_T5_BASE_ID)).toMatchObject({ id: GTR_T5_BASE_ID, dim: DIM });
    expect(encoderEntry(GTR_T5_BASE_VEC2TEXT_ID)).toMatchObject({ id: GTR_T5_BASE_VEC2TEXT_ID, dim: DIM });
    const saved = process.env.LVM_MODELS_DIR;
    process.env.LVM_MODELS_DIR = dir.path;
    try {
      const enc = await encoderEntry(GTR_T5_BASE_VEC2TEXT_ID).load();
      expect(maxAbsDiff(await enc.embed(["a dog ran"]), await v2t.embed(["a dog ran"]))).toBe(0);
      enc.dispose?.();
    } finally {
      if (saved === undefined) delete process.env.LVM_MODELS_DIR;
      else process.env.LVM_MODELS_DIR = saved;
    }
  });
});
