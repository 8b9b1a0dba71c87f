// The write lock (src/fs/write-lock-node.ts) and the atomic-write helper (src/fs/atomic-write-node.ts).
import { spawn, spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeTempFiles, writeFileAtomic, writeFilesAtomic } from "../../src/fs/atomic-write-node.ts";
import { acquireWriteLock, LOCK_FILE, WriteLockError } from "../../src/fs/write-lock-node.ts";
import { tempDir } from "../helpers.ts";

/** A pid that was just in use and is now free. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

describe("write lock", () => {
  it("refuses a second writer, naming the holder's pid, command and start; free again once released", async () => {
    await using dir = await tempDir();
    const lock = await acquireWriteLock(dir.path, { command: "lvm ingest" });
    const holder = JSON.parse(await readFile(join(dir.path, LOCK_FILE), "utf8"));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: "lvm ingest" });
    const refused = acquireWriteLock(dir.path, { command: "lvm index build" });
    await expect(refused).rejects.toThrow(WriteLockError);
    await expect(refused).rejects.toThrow(
      new RegExp(`is being written by pid ${process.pid} \\(lvm ingest\\) on .+ since ${holder.startedAt.replace(/[.]/g, "\\.")}`),
    );
    await lock.release();
    expect(await readdir(dir.path)).toEqual([]);
    await (await acquireWriteLock(dir.path, { command: "again" })).release();
  });

  it("a lock held by another live process is refused too", async () => {
    await using dir = await tempDir();
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      await writeFile(
        join(dir.path, LOCK_FILE),
        JSON.stringify({ pid: child.pid, host: hostname(), startedAt: "2026-01-02T03:04:05.000Z", command: "lvm train" }),
      );
      await expect(acquireWriteLock(dir.path, { command: "x" })).rejects.toThrow(
        `is being written by pid ${child.pid} (lvm train) on ${hostname()} since 2026-01-02T03:04:05.000Z`,
      );
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("takes over a stale lock (its process gone) with a message; of several racing, exactly one gets it", async () => {
    await using dir = await tempDir();
    const pid = deadPid();
    await writeFile(
      join(dir.path, LOCK_FILE),
      JSON.stringify({ pid, host: hostname(), startedAt: "2026-01-02T03:04:05.000Z", command: "lvm ingest" }),
    );
    const messages: string[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => acquireWriteLock(dir.path, { command: "racer", warn: (m) => messages.push(m) })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(WriteLockError);
    expect(messages).toEqual([
      expect.stringMatching(new RegExp(`taking over the stale write lock of pid ${pid} \\(lvm ingest\\).*that process is gone`)),
    ]);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireWriteLock>>>).value.release();
  });

  it("a pid reused by a later process does not keep a dead writer's lock alive", async () => {
    await using dir = await tempDir();
    // Our own pid, but a start time that is not ours: the writer that wrote it is gone.
    await writeFile(
      join(dir.path, LOCK_FILE),
      JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "2026-01-02T03:04:05.000Z", command: "old", pidStart: "1" }),
    );
    const messages: string[] = [];
    const lock = await acquireWriteLock(dir.path, { command: "new", warn: (m) => messages.push(m) });
    expect(messages[0]).toMatch(/stale write lock/);
    await lock.release();
  });

  it("another host's lock is not guessed at: the error says how to clear it", async () => {
    await using dir = await tempDir();
    await writeFile(
      join(dir.path, LOCK_FILE),
      JSON.stringify({ pid: 1, host: "elsewhere", startedAt: "2026-01-02T03:04:05.000Z", command: "lvm ingest" }),
    );
    await expect(acquireWriteLock(dir.path, { command: "x" })).rejects.toThrow(
      /pid 1 \(lvm ingest\) on elsewhere .*if it is gone, delete .*\.lvm-write\.lock/,
    );
  });
});

describe("atomic writes", () => {
  it("replaces files whole, leaves no temp file, and cleans up after a failed write", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "a.json");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, new Uint8Array([116, 119, 111]));
    expect(await readFile(path, "utf8")).toBe("two");
    await writeFilesAtomic(dir.path, [
      { name: "weights.bin", data: new Uint8Array(8) },
      { name: "model.json", data: "{}" },
    ]);
    expect((await readdir(dir.path)).sort()).toEqual(["a.json", "model.json", "weights.bin"]);
    // A target that cannot be replaced (a directory): the error surfaces, the temp file is gone.
    await mkdir(join(dir.path, "sub"));
    await expect(writeFileAtomic(join(dir.path, "sub"), "x")).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect((await readdir(dir.path)).sort()).toEqual(["a.json", "model.json", "sub", "weights.bin"]);
    await writeFile(join(dir.path, ".model.json.123-abcdef01.tmp"), "left by a kill");
    await writeFile(join(dir.path, "store.json.tmp"), "older style");
    expect((await removeTempFiles(dir.path)).sort()).toEqual([".model.json.123-abcdef01.tmp", "store.json.tmp"]);
  });
});
