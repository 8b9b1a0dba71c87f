import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readSafetensors } from "../../src/encoders/gtr-t5.ts";
import { PullRecordSchema } from "../../src/encoders/models-pull.ts";
import { OptimizerMetaSchema, readCheckpointState } from "../../src/train/checkpoint.ts";
import { parseJsonFile, positiveInt, validateFile } from "../../src/validate/parse-file.ts";

describe("parse-file helper", () => {
  const schema = z.object({
    encoder: z.object({ dim: positiveInt() }),
    items: z.array(z.object({ n: z.number() })),
    kind: z.enum(["a", "b"]),
  });
  const ok = { encoder: { dim: 4 }, items: [{ n: 1 }], kind: "a" };
  it("names file, line, dotted field path, what was expected and what was found", () => {
    expect(validateFile(schema, ok, "f.json")).toEqual(ok);
    expect(() => validateFile(schema, { ...ok, encoder: { dim: "512" } }, "store.json")).toThrow(
      'store.json: encoder.dim: expected a positive integer, got "512"',
    );
    expect(() => validateFile(schema, { ...ok, items: [{ n: 1 }, { n: "x" }] }, { file: "a.jsonl", line: 7 })).toThrow(
      'a.jsonl:7: items.1.n: expected a number, got "x"',
    );
    expect(() => validateFile(schema, { ...ok, kind: "c" }, "f.json")).toThrow('f.json: kind: expected "a" or "b", got "c"');
    expect(() => validateFile(schema, { ...ok, kind: "x".repeat(100) }, "f.json")).toThrow(/got "x{36}\.\.\."$/);
    expect(() => parseJsonFile(schema, "{,", "f.json", (m) => new RangeError(m))).toThrow(RangeError);
  });
});

describe("lvm-files.json (models pull record)", () => {
  const sha = "a".repeat(64);
  it("accepts the record the puller writes and names a broken field", () => {
    const record = { format: "lvm-edge-pull", name: "gtr", repo: "r", source: "s", files: { "model.onnx": { size: 10, sha256: sha } } };
    expect(parseJsonFile(PullRecordSchema, JSON.stringify(record), "lvm-files.json").files).toEqual(record.files);
    const bad = { files: { "model.onnx": { size: 10, sha256: "abc" } } };
    expect(() => parseJsonFile(PullRecordSchema, JSON.stringify(bad), "lvm-files.json")).toThrow(
      'lvm-files.json: files.model.onnx.sha256: expected a SHA-256 as 64 lowercase hex digits, got "abc"',
    );
  });
});

describe("training checkpoint files", () => {
  it("optimizer.json names a broken shape", () => {
    expect(() => parseJsonFile(OptimizerMetaSchema, '[{"name":"m","shape":[2,"3"]}]', "optimizer.json")).toThrow(
      'optimizer.json: 0.shape.1: expected a non-negative integer, got "3"',
    );
  });

  it("state.json names a broken field", async () => {
    const out = await mkdtemp(join(tmpdir(), "ckpt-"));
    try {
      await mkdir(join(out, "checkpoint"));
      const state = { options: {}, nextEpoch: 2, globalStep: "10", bestValR5: 1, bestEpoch: 0, history: [], wallSeconds: 1, done: false };
      await writeFile(join(out, "checkpoint", "state.json"), JSON.stringify(state));
      await expect(readCheckpointState(out)).rejects.toThrow(
        `${join(out, "checkpoint", "state.json")}: globalStep: expected a non-negative integer, got "10"`,
      );
      await writeFile(join(out, "checkpoint", "state.json"), JSON.stringify({ ...state, globalStep: 10 }));
      expect((await readCheckpointState(out)).globalStep).toBe(10);
      await rm(join(out, "checkpoint", "state.json"));
      await expect(readCheckpointState(out)).rejects.toThrow(/nothing to resume/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe("safetensors header (GTR-T5's Dense layer)", () => {
  const file = (header: object) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + 16);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    return bytes;
  };
  it("reads a valid header, metadata aside", () => {
    const t = readSafetensors(file({ __metadata__: { format: "pt" }, w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] } }));
    expect(t.get("w")?.shape).toEqual([2, 2]);
  });
  it("names the broken field", () => {
    expect(() => readSafetensors(file({ w: { dtype: "F32", shape: [2, -2], data_offsets: [0, 16] } }))).toThrow(
      "safetensors header: w.shape.1: expected a number >= 0, got -2",
    );
    expect(() => readSafetensors(file({ w: { dtype: "F32", shape: [4] } }))).toThrow(
      "safetensors header: w.data_offsets: expected a tuple, got nothing (field missing)",
    );
  });
});
