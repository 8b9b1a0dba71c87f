import { appendFile, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeRows } from "../../src/math/vectors.ts";
import { FILES } from "../../src/store/format.ts";
import { readStore, StoreWriter } from "../../src/store/fs-store.ts";
import { quantizeRows } from "../../src/store/quantize.ts";
import { tempDir } from "../helpers.ts";

const dim = 8;
const ref = { id: "test-enc", dim };

function randomRows(n: number, seed: number): Float32Array {
  let s = seed;
  const rows = Float32Array.from({ length: n * dim }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
  normalizeRows(rows, dim, (r) => `row ${r}`);
  return rows;
}

describe("concept store", () => {
  it("round-trips texts, provenance, float32 and INT8 vectors", async () => {
    await using dir = await tempDir();
    const writer = await StoreWriter.open(dir.path, ref);
    const v1 = randomRows(3, 1);
    const v2 = randomRows(2, 2);
    await writer.append([{ id: "a", title: "Alpha", texts: ["first", "second — ünïcode", "third"] }], v1);
    await writer.append([{ id: "b", title: "Beta", texts: ["x", "y"] }], v2);

    const store = await readStore(dir.path);
    expect(store.count).toBe(5);
    expect(store.encoder).toEqual(ref);
    expect(store.documents).toEqual([
      { id: "a", title: "Alpha", first: 0, count: 3 },
      { id: "b", title: "Beta", first: 3, count: 2 },
    ]);
    expect(store.concept(1)).toEqual({ row: 1, text: "second — ünïcode", documentId: "a", title: "Alpha", position: 1 });
    expect(store.concept(4)).toEqual({ row: 4, text: "y", documentId: "b", title: "Beta", position: 1 });
    expect(Array.from(store.vectors)).toEqual(Array.from([...v1, ...v2]));
    for (let r = 0; r < 5; r++) {
      for (let j = 0; j < dim; j++) {
        // Per-row symmetric INT8: error at most half a step of that row's scale.
        expect(Math.abs(store.int8[r * dim + j] * store.scales[r] - store.vectors[r * dim + j])).toBeLessThanOrEqual(
          store.scales[r] / 2 + 1e-7,
        );
      }
    }
    expect(() => store.concept(5)).toThrow(/outside the store/);
  });

  it("refuses to open or append with another encoder or dim", async () => {
    await using dir = await tempDir();
    const writer = await StoreWriter.open(dir.path, ref);
    await writer.append([{ id: "a", title: "A", texts: ["t"] }], randomRows(1, 3));
    await writer.close();
    await expect(StoreWriter.open(dir.path, { id: "other", dim })).rejects.toThrow(
      /built with encoder 'test-enc' \(dim 8\).*'other' \(dim 8\)/,
    );
    await expect(StoreWriter.open(dir.path, { id: "test-enc", dim: 16 })).rejects.toThrow(/dim 16/);
    expect((await readStore(dir.path)).count).toBe(1);
  });

  it("discards an interrupted append's partial tail and keeps every committed row", async () => {
    await using dir = await tempDir();
    const writer = await StoreWriter.open(dir.path, ref);
    await writer.append([{ id: "a", title: "A", texts: ["one", "two"] }], randomRows(2, 4));
    // Simulate a kill after the data files were written but before the manifest was replaced.
    await appendFile(join(dir.path, FILES.texts), "garbage");
    await appendFile(join(dir.path, FILES.vectors), new Uint8Array(13));
    await appendFile(join(dir.path, FILES.documents), '{"id":"half');
    await writer.close();
    expect((await readStore(dir.path)).count).toBe(2);
    const reopened = await StoreWriter.open(dir.path, ref);
    await reopened.append([{ id: "b", title: "B", texts: ["three"] }], randomRows(1, 5));
    const store = await readStore(dir.path);
    expect(store.count).toBe(3);
    expect([0, 1, 2].map((r) => store.text(r))).toEqual(["one", "two", "three"]);
    expect(store.documents.map((d) => d.id)).toEqual(["a", "b"]);
  });

  it("fails clearly on a truncated file, a missing manifest or a foreign manifest", async () => {
    await using dir = await tempDir();
    const writer = await StoreWriter.open(dir.path, ref);
    await writer.append([{ id: "a", title: "A", texts: ["one", "two"] }], randomRows(2, 6));
    const vectors = join(dir.path, FILES.vectors);
    await truncate(vectors, (await stat(vectors)).size - 4);
    await expect(readStore(dir.path)).rejects.toThrow(/vectors\.f32 is truncated: 60 bytes, the manifest needs 64/);
    await expect(readStore(join(dir.path, "nope"))).rejects.toThrow(/not a concept store: store\.json is missing/);
    await writeFile(join(dir.path, FILES.manifest), JSON.stringify({ format: "something-else" }));
    await expect(readStore(dir.path)).rejects.toThrow(/not a concept store/);
  });

  it("refuses a document id that is already stored", async () => {
    await using dir = await tempDir();
    const writer = await StoreWriter.open(dir.path, ref);
    await writer.append([{ id: "a", title: "A", texts: ["one"] }], randomRows(1, 7));
    await expect(writer.append([{ id: "a", title: "A", texts: ["one"] }], randomRows(1, 7))).rejects.toThrow(/already in the store/);
    expect(JSON.parse(await readFile(join(dir.path, FILES.manifest), "utf8")).count).toBe(1);
  });
});

describe("quantizeRows / normalizeRows", () => {
  it("maps the largest magnitude of each row to ±127", () => {
    const { codes, scales } = quantizeRows(Float32Array.from([0.5, -1, 0.25, 0, 2, -0.5]), 3);
    expect(Array.from(codes)).toEqual([64, -127, 32, 0, 127, -32]);
    expect(scales[0]).toBeCloseTo(1 / 127);
    expect(scales[1]).toBeCloseTo(2 / 127);
  });

  it("names a zero or non-finite row", () => {
    expect(() => normalizeRows(Float32Array.from([1, 0, 0, 0]), 2, (r) => `row ${r}`)).toThrow(/row 1: vector is all zeros/);
    expect(() => normalizeRows(Float32Array.from([Number.NaN, 0]), 2, (r) => `row ${r}`)).toThrow(/row 0: vector is not finite/);
  });
});
