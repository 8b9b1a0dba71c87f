// Issue 13: two `lvm ingest` runs on one store at once must not corrupt it; one of them refuses, naming the other.
// Every command that writes a store or a model directory takes the same lock.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireWriteLock } from "../../src/fs/write-lock-node.ts";
import { buildMiniStore, MINI_CORPUS, MINI_VECTORS, tempDir } from "../helpers.ts";
import { assertMiniStoreWhole, lvmRun, MINI_CONCEPTS } from "./mini.ts";

const REFUSED = (command: string) =>
  new RegExp(`is being written by pid ${process.pid} \\(${command}\\) on [^ ]+ since \\d{4}-\\d\\d-\\d\\dT`);

describe("two concurrent ingests on one store", () => {
  it("one refuses with the holder's pid, and every stored row's text and vector belong together", async () => {
    await using dir = await tempDir();
    let refusals = 0;
    // Started together they overlap almost always; a pair that did not overlap (the second found everything
    // committed) is run again on a fresh store, so the refusal itself is seen.
    for (let trial = 0; trial < 5 && refusals === 0; trial++) {
      const store = join(dir.path, `store-${trial}`);
      const args = ["ingest", MINI_CORPUS, "--store", store, "--vectors", MINI_VECTORS, "--commit-every", "200"];
      const runs = await Promise.all([lvmRun(args), lvmRun(args)]);
      const failed = runs.filter((r) => r.code !== 0);
      for (const r of failed) {
        // The clear error: who holds the store and since when, not an ENOENT from a rename.
        expect(r.stderr).toMatch(/is being written by pid \d+ \(lvm ingest\) on [^ ]+ since \d{4}-\d\d-\d\dT/);
      }
      expect(failed.length).toBeLessThanOrEqual(1);
      if (failed.length === 1) refusals++;
      else expect(runs.some((r) => /ingested 0 concepts/.test(r.stdout))).toBe(true);
      await assertMiniStoreWhole(store, MINI_CONCEPTS);
    }
    expect(refusals).toBe(1);
  });

  it("index build and train refuse a directory another writer holds (quantize: test/reliability/kill.test.ts)", async () => {
    await using dir = await tempDir();
    const store = await buildMiniStore(join(dir.path, "store"));
    const model = join(dir.path, "model");
    await mkdir(model);
    const storeLock = await acquireWriteLock(store, { command: "test ingest" });
    const modelLock = await acquireWriteLock(model, { command: "test train" });
    try {
      const [index, train] = await Promise.all([
        lvmRun(["index", "build", "--store", store]),
        lvmRun(["train", "--store", store, "--out", model, "--epochs", "1", "--max-windows", "256", "--batch", "64"]),
      ]);
      expect(index.code).toBe(1);
      expect(index.stderr).toMatch(REFUSED("test ingest"));
      expect(train.code).toBe(1);
      expect(train.stderr).toMatch(REFUSED("test train"));
    } finally {
      await storeLock.release();
      await modelLock.release();
    }
  });
});
