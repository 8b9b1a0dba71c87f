import { describe, expect, it } from "vitest";
import { EmbeddingCache, embeddingCacheOptions, entryBytes } from "../../src/encoders/cached-encoder.ts";
import type { Encoder } from "../../src/encoders/types.ts";

const DIM = 4;

/** A fake encoder that records every call: text -> [len, first char code, 1, 0]. */
function countingEncoder() {
  const calls: string[][] = [];
  const encoder: Encoder = {
    id: "fake",
    dim: DIM,
    embed: async (texts) => {
      calls.push([...texts]);
      const out = new Float32Array(texts.length * DIM);
      texts.forEach((t, i) => {
        if (t.length === 0) throw new Error(`text ${i} is empty`);
        out.set([t.length, t.charCodeAt(0), 1, 0], i * DIM);
      });
      return out;
    },
  };
  return { encoder, calls };
}

const rowOf = (rows: Float32Array, i: number) => Array.from(rows.subarray(i * DIM, (i + 1) * DIM));

describe("EmbeddingCache", () => {
  it("a sliding window (4 of 5 texts seen before) embeds exactly the one new text, rows in input order", async () => {
    const { encoder, calls } = countingEncoder();
    const cache = new EmbeddingCache();
    const cached = cache.wrap(encoder);
    const window = ["a", "bb", "ccc", "dddd", "eeeee"];
    const first = await cached.embed(window);
    expect(calls).toEqual([window]);
    const slid = [...window.slice(1), "ffffff"];
    const second = await cached.embed(slid);
    expect(calls.slice(1)).toEqual([["ffffff"]]);
    expect(rowOf(second, 0)).toEqual(rowOf(first, 1));
    expect(rowOf(second, 4)).toEqual([6, "f".charCodeAt(0), 1, 0]);
    expect(cache.stats()).toMatchObject({ lruHits: 4, misses: 6, storedHits: 0, entries: 6 });
    // Fully cached: no encoder call at all.
    await cached.embed(slid);
    expect(calls).toHaveLength(2);
    expect(cache.stats().lruHits).toBe(9);
  });

  it("embeds a text repeated within one call once", async () => {
    const { encoder, calls } = countingEncoder();
    const cache = new EmbeddingCache();
    const rows = await cache.wrap(encoder).embed(["x", "y", "x"]);
    expect(calls).toEqual([["x", "y"]]);
    expect(rowOf(rows, 2)).toEqual(rowOf(rows, 0));
    expect(cache.stats()).toMatchObject({ misses: 2, lruHits: 1 });
  });

  it("evicts the least recently used text past maxEntries", async () => {
    const { encoder, calls } = countingEncoder();
    const cache = new EmbeddingCache({ maxEntries: 2 });
    const cached = cache.wrap(encoder);
    await cached.embed(["a", "b"]);
    await cached.embed(["a"]); // a is now more recent than b
    await cached.embed(["c"]); // evicts b
    expect(cache.stats().entries).toBe(2);
    calls.length = 0;
    await cached.embed(["a", "b", "c"]);
    expect(calls).toEqual([["b"]]);
  });

  it("evicts by bytes: never holds more than maxBytes", async () => {
    const { encoder, calls } = countingEncoder();
    const one = entryBytes("aaaa", new Float32Array(DIM));
    const cache = new EmbeddingCache({ maxEntries: 100, maxBytes: 3 * one });
    const cached = cache.wrap(encoder);
    await cached.embed(["aaaa", "bbbb", "cccc", "dddd"]);
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 3 * one });
    calls.length = 0;
    await cached.embed(["aaaa"]);
    expect(calls).toEqual([["aaaa"]]); // the oldest went
    // A text larger than the whole budget is embedded but not kept.
    const huge = "h".repeat(4 * one);
    await cached.embed([huge]);
    await cached.embed([huge]);
    expect(calls.slice(1)).toEqual([[huge], [huge]]);
    expect(cache.stats().bytes).toBeLessThanOrEqual(3 * one);
  });

  it("maxEntries 0 turns the LRU off; errors come from the encoder and nothing is cached", async () => {
    const { encoder, calls } = countingEncoder();
    const off = new EmbeddingCache({ maxEntries: 0 }).wrap(encoder);
    await off.embed(["a"]);
    await off.embed(["a"]);
    expect(calls).toHaveLength(2);
    const cache = new EmbeddingCache();
    await expect(cache.wrap(encoder).embed(["a", ""])).rejects.toThrow(/text 1 is empty/);
    expect(cache.stats()).toMatchObject({ entries: 0, misses: 0 });
  });

  it("reads its bounds from settings strings and names a bad one", () => {
    expect(embeddingCacheOptions({ LVM_EMBED_CACHE_ENTRIES: "10", LVM_EMBED_CACHE_MB: "0.5" })).toEqual({
      maxEntries: 10,
      maxBytes: 524288,
    });
    expect(embeddingCacheOptions({})).toEqual({ maxEntries: undefined, maxBytes: undefined });
    expect(() => embeddingCacheOptions({ LVM_EMBED_CACHE_MB: "lots" })).toThrow(/LVM_EMBED_CACHE_MB must be a number >= 0, got 'lots'/);
  });

  it("keeps the wrapped encoder's truncation answer (or its absence)", () => {
    const cache = new EmbeddingCache({});
    const { encoder } = countingEncoder();
    expect(cache.wrap(encoder).truncates).toBeUndefined();
    const cutting = cache.wrap({ ...encoder, truncates: (text: string) => text.length > 10 });
    expect([cutting.truncates?.("short"), cutting.truncates?.("much longer than ten")]).toEqual([false, true]);
  });
});
