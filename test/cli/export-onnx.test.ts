// `lvm export-onnx --f16`: the float16 graph the GPU runners read as model.f16.onnx, validated like the others.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { DataType, decodeModel } from "../../src/lvm/onnx/proto.ts";
import { REPO, tempDir } from "../helpers.ts";

const MODEL = join(REPO, "models/gru-edge");

function initializerTypes(bytes: Uint8Array): Set<number> {
  const graph = (decodeModel(bytes) as { graph: { initializer: { dataType: number }[] } }).graph;
  return new Set(graph.initializer.map((t) => t.dataType));
}

describe("lvm export-onnx --f16", () => {
  it("writes float16 weights, validates them on both onnxruntime backends, and refuses --int8 with it", async () => {
    await using dir = await tempDir();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const out = join(dir.path, "model.f16.onnx");
      expect(await main(["export-onnx", "--model", MODEL, "--out", out, "--f16"])).toBe(0);
      const printed = log.mock.calls.map((c) => String(c[0])).join("\n");
      expect(printed).toMatch(/gru f16/);
      expect(printed).toMatch(/ok {3}ort-node-f16 +batch 16/);
      expect(printed).toMatch(/ok {3}ort-wasm-f16 +batch 16/);
      expect(printed).toMatch(/validated against the reference \(max abs diff <= 0\.005\)/);
      const f16 = new Uint8Array(await readFile(out));
      expect(initializerTypes(f16).has(DataType.FLOAT16)).toBe(true);
      // The weights are float16: about half the float32 graph (the blend's constants stay float32).
      const f32Path = join(dir.path, "model.onnx");
      expect(await main(["export-onnx", "--model", MODEL, "--out", f32Path, "--no-validate"])).toBe(0);
      expect(f16.length).toBeLessThan((await readFile(f32Path)).length * 0.55);
      expect(await main(["export-onnx", "--model", MODEL, "--out", out, "--f16", "--int8"])).toBe(2);
      expect(error.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/--int8 and --f16 are exclusive/);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });
});
