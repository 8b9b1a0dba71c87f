import { readFile, stat, writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { decodeHubness, hubnessPath, loadOrComputeHubness } from "../../src/index/hubness-file-node.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// <store>/hubness-10.f32 caches the store's hubness values: read back when it fits the store, recomputed otherwise.
let store: ConceptStore;
let dir: string;
let index: CoreIndex;
beforeAll(async () => {
  const tmp = await tempDir();
  dir = await buildMiniStore(tmp.path);
  store = await readStore(dir);
  index = new CoreIndex(await loadCore(), store);
  return async () => {
    index.dispose();
    await tmp[Symbol.asyncDispose]();
  };
});

describe("hubness cache file", () => {
  it("is written on first use and read back with the same values", async () => {
    const logs: string[] = [];
    const first = await loadOrComputeHubness(dir, store, index, (m) => logs.push(m));
    expect(first.source).toBe("computed");
    expect((await stat(hubnessPath(dir))).size).toBe(24 + 4 * store.count);
    const second = await loadOrComputeHubness(dir, store, index, (m) => logs.push(m));
    expect(second.source).toBe("file");
    expect(Array.from(second.values)).toEqual(Array.from(first.values));
    expect(second.min).toBe(first.min);
    expect(logs).toEqual([]);
  });

  it("is recomputed when it belongs to another store, is truncated or is not one", async () => {
    const good = await readFile(hubnessPath(dir));
    const otherScales = store.scales.slice();
    otherScales[0] += 1;
    expect(decodeHubness(good, { ...store, scales: otherScales }, 10)).toMatch(/fingerprint/);
    expect(decodeHubness(good, { ...store, count: store.count + 1 }, 10)).toMatch(/rows/);
    expect(decodeHubness(good, store, 5)).toMatch(/neighbours/);
    expect(decodeHubness(good.subarray(0, good.length - 4), store, 10)).toMatch(/bytes/);
    expect(decodeHubness(new TextEncoder().encode("hello world, not a hubness file"), store, 10)).toMatch(/magic/);

    await writeFile(hubnessPath(dir), good.subarray(0, 100));
    const logs: string[] = [];
    const again = await loadOrComputeHubness(dir, store, index, (m) => logs.push(m));
    expect(again.source).toBe("computed");
    expect(logs.join()).toMatch(/recomputed \(\d+ bytes, expected/);
    expect(Buffer.compare(await readFile(hubnessPath(dir)), good)).toBe(0);
  });
});
