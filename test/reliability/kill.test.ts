// kill -9 at random moments of `lvm index build` and `lvm train` (ingest: test/cli/ingest.test.ts): a rerun
// completes, taking the dead writer's lock over, and what is on disk always opens and validates.
// LVM_RELIABILITY=long (npm run test:reliability) kills more often.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireWriteLock, LOCK_FILE } from "../../src/fs/write-lock-node.ts";
import { indexPath, readStoreGraph } from "../../src/index/hnsw-build.ts";
import { readModel } from "../../src/lvm/read-model.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, REPO, tempDir } from "../helpers.ts";
import { LVM, lvmRun } from "./mini.ts";

const KILLS = process.env.LVM_RELIABILITY === "long" ? 8 : 2;
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `lvm args`, waits until it holds its write lock in `lockDir`, then kills it with SIGKILL after 0..maxDelayMs. */
async function killMidway(args: string[], lockDir: string, maxDelayMs: number): Promise<{ killed: boolean }> {
  const child: ChildProcess = spawn(process.execPath, [LVM, ...args], { cwd: REPO, stdio: "ignore" });
  const exited = new Promise((r) => child.once("exit", r));
  const started = Date.now();
  while (child.exitCode === null && !(await exists(join(lockDir, LOCK_FILE))) && Date.now() - started < 60_000) await sleep(5);
  await sleep(Math.random() * maxDelayMs);
  const killed = child.exitCode === null && child.kill("SIGKILL");
  await exited;
  return { killed };
}

/** Files a killed writer may leave: our temp files and its stale lock; nothing else unexpected. */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".tmp") || n === LOCK_FILE);
}

describe("kill -9 and rerun", () => {
  it("lvm index build: the store and any index.hnsw on disk always validate; the rerun takes the lock over", async () => {
    await using dir = await tempDir();
    const store = await buildMiniStore(join(dir.path, "store"));
    const args = ["index", "build", "--store", store, "--ef-construction", "40"];
    let killed = 0;
    for (let i = 0; i < KILLS; i++) {
      killed += Number((await killMidway(args, store, 1000)).killed);
      const s = await readStore(store);
      expect(s.count).toBe(6399);
      // An index from an earlier round may be there: whole or not at all, never half written.
      if (await exists(indexPath(store))) await readStoreGraph(store, s);
    }
    expect(killed).toBeGreaterThan(0);
    // A run that finished before its kill released the lock; one that was killed left it behind.
    const stale = (await leftovers(store)).includes(LOCK_FILE);
    const rerun = await lvmRun(args);
    expect(rerun.code).toBe(0);
    if (stale) expect(rerun.stderr).toMatch(/taking over the stale write lock of pid \d+ \(lvm index build\)/);
    expect(await leftovers(store)).toEqual([]);
    const check = await lvmRun(["index", "check", "--store", store]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/valid for this store \(6399 concepts/);
  });

  it("lvm train: the model and checkpoint on disk always load; --resume (or a fresh run) completes", async () => {
    await using dir = await tempDir();
    const store = await buildMiniStore(join(dir.path, "store"));
    const out = join(dir.path, "model");
    const base = ["--store", store, "--out", out, "--preset", "gru", "--hidden", "32", "--epochs", "12", "--patience", "100"];
    const tiny = ["--max-windows", "1024", "--max-val", "128", "--batch", "64", "--negatives", "64"];
    let killed = 0;
    for (let i = 0; i < KILLS; i++) {
      const resumable = await exists(join(out, "checkpoint", "state.json"));
      const args = resumable ? ["train", "--resume", "--out", out] : ["train", ...base, ...tiny];
      killed += Number((await killMidway(args, out, 3000)).killed);
      if (await exists(join(out, "model.json"))) await readModel(out);
      if (await exists(join(out, "checkpoint", "state.json"))) {
        const state = JSON.parse(await readFile(join(out, "checkpoint", "state.json"), "utf8"));
        expect(state.nextEpoch).toBeGreaterThan(0);
        await readModel(join(out, "checkpoint", "last"));
        JSON.parse(await readFile(join(out, "checkpoint", "optimizer.json"), "utf8"));
      }
    }
    expect(killed).toBeGreaterThan(0);
    const resumable = await exists(join(out, "checkpoint", "state.json"));
    const stale = (await leftovers(out)).includes(LOCK_FILE);
    const rerun = await lvmRun(resumable ? ["train", "--resume", "--out", out] : ["train", ...base, ...tiny]);
    expect(rerun.code, rerun.stderr).toBe(0);
    if (stale) expect(rerun.stderr).toMatch(/taking over the stale write lock of pid \d+ \(lvm train\)/);
    expect(rerun.stdout).toMatch(/trained gru/);
    const model = await readModel(out);
    expect(model.manifest.blend).toBeDefined();
    expect(await exists(join(out, "checkpoint"))).toBe(false);
    expect(await leftovers(out)).toEqual([]);
    // The trained model quantizes, under the output directory's lock: refused while another writer holds it.
    const int8 = join(dir.path, "int8");
    await mkdir(int8);
    const held = await acquireWriteLock(int8, { command: "test" });
    const refused = await lvmRun(["quantize", "--model", out, "--out", int8]);
    await held.release();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is being written by pid \d+ \(test\)/);
    expect(await readdir(int8)).toEqual([]);
    const q = await lvmRun(["quantize", "--model", out, "--out", int8]);
    expect(q.code, q.stderr).toBe(0);
    await readModel(int8);
  });
});
