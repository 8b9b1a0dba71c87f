import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbedPool } from "../../src/encoders/embed-pool-node.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { loadUseLiteCoreEncoder } from "../../src/encoders/use-lite-core-node.ts";

// The worker-thread encoder of `lvm ingest --threads` and the server's LVM_EMBED_THREADS: the same rows as the
// core on the calling thread, whatever calls get merged, and one bad text fails only its own call.
let pool: EmbedPool;
let local: Encoder;

beforeAll(async () => {
  [pool, local] = await Promise.all([EmbedPool.open("use-lite", 2), loadUseLiteCoreEncoder()]);
});
afterAll(async () => {
  await pool?.close();
  local?.dispose?.();
});

const calls = Array.from({ length: 12 }, (_, i) =>
  Array.from({ length: 1 + (i % 3) }, (_, j) => `Sentence ${j} of call ${i}: the river flows ${"far ".repeat(i)}into the sea.`),
);

describe("EmbedPool", () => {
  it("answers concurrent calls (merged into shared batches) with exactly the rows of a local encoder", async () => {
    expect(pool).toMatchObject({ id: "use-lite", dim: 512, threads: 2 });
    const answers = await Promise.all(calls.map((texts) => pool.embed(texts)));
    for (const [i, texts] of calls.entries()) {
      expect(answers[i]).toHaveLength(texts.length * 512);
      expect(Array.from(answers[i])).toEqual(Array.from(await local.embed(texts)));
    }
  });

  it("an empty text fails its own call only, not the calls merged with it", async () => {
    const results = await Promise.allSettled([
      pool.embed(["first"]),
      pool.embed(["second"]),
      pool.embed(["ok", ""]),
      pool.embed(["third"]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(((results[2] as PromiseRejectedResult).reason as Error).message).toMatch(/text 1 is empty/);
    expect(Array.from((results[3] as PromiseFulfilledResult<Float32Array>).value)).toEqual(Array.from(await local.embed(["third"])));
  });

  it("says which texts it cuts, as the encoder on this thread does (responses list them as truncated)", () => {
    const long = "word ".repeat(400);
    for (const text of ["a short sentence.", long, "x".repeat(5000)]) expect(pool.truncates?.(text)).toBe(local.truncates?.(text));
    expect(pool.truncates?.(long)).toBe(true);
  });
});
