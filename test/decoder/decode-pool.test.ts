// DecodePool (the Node server's LVM_DECODE_THREADS): the shipped decoder on a worker thread gives what it gives on
// this thread, refuses malformed input by name before sending it, and a worker that dies fails its callers and every
// later call with the reason instead of leaving them waiting.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecodePool } from "../../src/decoder/decode-pool-node.ts";
import { DecoderInputError } from "../../src/decoder/refine.ts";
import type { VectorDecoder } from "../../src/decoder/vector-decoder.ts";
import { loadVectorDecoder } from "../../src/decoder/vector-decoder-node.ts";
import { loadUseLiteCoreEncoder } from "../../src/encoders/use-lite-core-node.ts";
import { SHIPPED_MODELS_DIR } from "../../src/lvm/load-models-node.ts";

const DIR = join(SHIPPED_MODELS_DIR, "decoder");

describe("DecodePool", () => {
  let pool: DecodePool;
  let local: VectorDecoder;
  let vectors: Float32Array;
  beforeAll(async () => {
    const encoder = await loadUseLiteCoreEncoder({ precision: "int8" });
    [pool, { decoder: local }] = await Promise.all([DecodePool.open(DIR, { threads: 2 }), loadVectorDecoder(DIR, { encoder })]);
    vectors = await encoder.embed(["The river flows north into the lake.", "She won the election in 1998."]);
  }, 60_000);
  afterAll(() => pool?.close());

  it("decodes on its threads exactly as on this one (texts, cosines, steps), several calls at once", async () => {
    expect(pool.threads).toBe(2);
    expect(pool.dim).toBe(512);
    expect(pool.encoderId).toBe(local.encoderId);
    // Not the defaults (2 steps, patience 0), so options that do not reach the worker show.
    const options = { steps: 3, patience: 3, seed: 3 };
    const want = await local.decode(vectors, 2, options);
    expect(want.map((d) => d.steps)).toEqual([3, 3]);
    const got = await Promise.all([
      pool.decode(vectors, 2, options),
      pool.decode(vectors.slice(0, 512), 1, options),
      pool.decode(vectors, 2, options),
    ]);
    expect(got[0]).toEqual(want);
    expect(got[1]).toEqual([want[0]]);
    expect(got[2]).toEqual(want);
  }, 60_000);

  it("refuses malformed input by name, as the in-process decoder does", async () => {
    await expect(pool.decode(new Float32Array(511), 1)).rejects.toThrow(/expected 1 vectors of 512 values \(512\), got 511/);
    const nan = vectors.slice();
    nan[512 + 7] = Number.NaN;
    await expect(pool.decode(nan, 2)).rejects.toThrow(DecoderInputError);
    await expect(pool.decode(nan, 2)).rejects.toThrow(/vectors\[1\]\[7\] is NaN/);
    expect(await pool.decode(new Float32Array(0), 0)).toEqual([]);
  });

  it("a worker that dies fails the call it held and every later call, with the reason", async () => {
    const dying = await DecodePool.open(DIR, { threads: 1 });
    const pending = dying.decode(vectors, 2, { steps: 4 });
    await (dying as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0].worker.terminate();
    await expect(pending).rejects.toThrow(/a decoding worker thread exited/);
    await expect(dying.decode(vectors, 2)).rejects.toThrow(/a decoding worker thread exited/);
    await dying.close();
  }, 60_000);

  it("a directory that does not load rejects open, naming it", async () => {
    await expect(DecodePool.open(join(SHIPPED_MODELS_DIR, "no-such-decoder"), { threads: 1 })).rejects.toThrow(/no-such-decoder/);
  }, 60_000);
});
