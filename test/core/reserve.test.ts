// WasmCore.reserve: one growth of the core's memory for a load of many blocks, where the allocator alone grows by
// doubling (what took the Worker's core to 84 MiB for ~45 MiB live).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WasmCore } from "../../src/core/wasm-core.ts";
import { CoreDecoder } from "../../src/decoder/core-decoder.ts";
import { readDecoder } from "../../src/decoder/model-node.ts";
import { createUseLiteCoreEncoder } from "../../src/encoders/use-lite-core.ts";
import { USE_LITE_EDGE_FILE } from "../../src/encoders/use-lite-core-format.ts";
import { decodingReserveBytes } from "../../src/entries/worker-decoding.ts";

const module = new WebAssembly.Module(readFileSync(new URL("../../wasm/build/core.wasm", import.meta.url)));
const relaxedModule = new WebAssembly.Module(readFileSync(new URL("../../wasm/build/core-relaxed.wasm", import.meta.url)));
const MiB = 2 ** 20;

/** 40 blocks of 1 MiB on a fresh core; its memory in MiB before and after. */
async function load(reserveBytes: number): Promise<{ reserved: number; loaded: number }> {
  const core = await WasmCore.instantiate(module);
  if (reserveBytes > 0) core.reserve(reserveBytes);
  const reserved = core.exports.memory.buffer.byteLength / MiB;
  for (let i = 0; i < 40; i++) core.buffer(MiB);
  return { reserved, loaded: core.exports.memory.buffer.byteLength / MiB };
}

describe("WasmCore.reserve", () => {
  it("holds a later load without growing again; without it the allocator doubles past what is live", async () => {
    const plain = await load(0);
    const reserved = await load(41 * MiB);
    expect(reserved.loaded).toBe(reserved.reserved); // no growth during the load
    expect(reserved.loaded).toBeLessThan(45);
    expect(plain.loaded).toBeGreaterThan(60); // doubled: 40 MiB live in more than 60 MiB of memory
  });
});

describe("decodingReserveBytes", () => {
  it("counts the INT8 bytes the core will hold: an f32 decoder file reserves what its INT8 quarter needs", () => {
    const decoder = (precision: string | undefined, weightBytes: number) => ({
      name: "d",
      manifestText: JSON.stringify(precision ? { precision } : {}),
      weightsAsset: "decoder/weights.bin",
      weightBytes,
    });
    const int8 = decodingReserveBytes(decoder("int8", 12_000_000));
    expect(decodingReserveBytes(decoder(undefined, 48_000_000))).toBe(int8); // f32 files have no precision field
    expect(int8).toBeGreaterThan(12_000_000 + 24 * MiB);
    expect(int8).toBeLessThan(50 * MiB);
  });

  it("holds the Worker's USE-lite (edge weights, 512 tokens, ranking packings) and the shipped decoder, loaded as it does", async () => {
    const core = await WasmCore.instantiate(relaxedModule);
    expect(core.relaxed).toBe(true);
    const manifestText = readFileSync(new URL("../../models/decoder/model.json", import.meta.url), "utf8");
    const weightBytes = readFileSync(new URL("../../models/decoder/weights.bin", import.meta.url)).byteLength;
    const reserve = decodingReserveBytes({ name: "decoder", manifestText, weightsAsset: "decoder/weights.bin", weightBytes });
    core.reserve(reserve);
    const reserved = core.exports.memory.buffer.byteLength;
    const encoder = createUseLiteCoreEncoder(core, readFileSync(new URL(`../../wasm/build/${USE_LITE_EDGE_FILE}`, import.meta.url)), {
      maxBatchTokens: 512,
    });
    const { model } = await readDecoder(new URL("../../models/decoder", import.meta.url).pathname);
    const decoder = new CoreDecoder(core, model, "int8");
    await encoder.embedForRanking(["A sentence to run every buffer once."]);
    expect(core.exports.memory.buffer.byteLength).toBe(reserved); // both fit in what was reserved: no growth
    console.log(`decoding reserve ${(reserve / MiB).toFixed(1)} MiB, core memory ${(reserved / MiB).toFixed(1)} MiB`);
    decoder.dispose();
    encoder.dispose();
  });
});
