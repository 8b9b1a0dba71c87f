// Disk full during ingest: a clear error, and the store still opens at its last commit (then resumes once there
// is room). Needs a small tmpfs: root can mount one (here and in CI); elsewhere the test is skipped, saying why.
import { spawnSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/fs/atomic-write-node.ts";
import { LOCK_FILE } from "../../src/fs/write-lock-node.ts";
import { readManifest } from "../../src/store/fs-store.ts";
import { MINI_CORPUS, MINI_VECTORS, tempDir } from "../helpers.ts";
import { assertMiniStoreWhole, lvmRun, MINI_CONCEPTS } from "./mini.ts";

let dir: Awaited<ReturnType<typeof tempDir>>;
let skipReason: string | undefined;

function mountTmpfs(path: string, size: string, remount = false): string | undefined {
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `${remount ? "remount," : ""}size=${size}`, "tmpfs", path], { encoding: "utf8" });
  return r.status === 0 ? undefined : `mount -t tmpfs failed (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
}

beforeAll(async () => {
  dir = await tempDir();
  skipReason = mountTmpfs(dir.path, "8m");
  if (skipReason) console.warn(`disk-full test skipped: ${skipReason}; it needs root (or CAP_SYS_ADMIN) to mount a small tmpfs`);
});

afterAll(async () => {
  if (!skipReason) spawnSync("umount", [dir.path]);
  await dir[Symbol.asyncDispose]();
});

describe("disk full during ingest", () => {
  it("fails with a clear error, leaves the store at its last commit, and resumes once there is room", async (ctx) => {
    if (skipReason) return ctx.skip(skipReason);
    const store = join(dir.path, "store");
    // The mini tier needs ~19 MB (float32 + INT8 vectors, texts); 8 MB fills up a few commits in.
    const args = ["ingest", MINI_CORPUS, "--store", store, "--vectors", MINI_VECTORS, "--commit-every", "256"];
    const full = await lvmRun(args);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(
      /disk full while appending to the store .*: nothing of this batch was committed; the store is intact at its last commit \(\d+ concepts, \d+ documents\)\. Free some space and run the same command again to resume\./,
    );
    const committed = (await readManifest(store)).count;
    expect(committed).toBeGreaterThan(0);
    expect(full.stderr).toContain(`(${committed} concepts,`);
    // Every committed row is whole; the failed batch left nothing behind (its tail was given back).
    await assertMiniStoreWhole(store, committed);
    expect((await readdir(store)).filter((n) => n.endsWith(".tmp") || n === LOCK_FILE)).toEqual([]);

    // While the disk is full, a whole-file write fails without harming the file it would replace
    // (a plain writeFile would have truncated it first).
    const manifest = await readFile(join(store, "store.json"), "utf8");
    await expect(writeFileAtomic(join(store, "store.json"), new Uint8Array(16 << 20))).rejects.toThrow(/ENOSPC/);
    expect(await readFile(join(store, "store.json"), "utf8")).toBe(manifest);
    expect((await readdir(store)).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    expect(mountTmpfs(dir.path, "64m", true)).toBeUndefined();
    const rerun = await lvmRun(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    await assertMiniStoreWhole(store, MINI_CONCEPTS);
  });
});
