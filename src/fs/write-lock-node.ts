/**
 * One writer per directory (a concept store, a model directory): `<dir>/.lvm-write.lock` is created with
 * O_CREAT|O_EXCL, so of two processes racing for it exactly one succeeds, and holds one JSON line:
 *
 *   {"pid":1234,"host":"box","startedAt":"2026-01-01T00:00:00.000Z","command":"lvm ingest","pidStart":"98765"}
 *
 * (pidStart: the process's start time in clock ticks from /proc/<pid>/stat where there is one, so a pid reused
 * by another process does not keep a dead writer's lock alive.)
 *
 * A lock whose process is gone (same host, no such pid, or the pid now belongs to a later process) is stale: it
 * is taken over with a message. Only one process takes a stale lock over: the takeover is itself guarded by an
 * O_EXCL file, `.lvm-write.lock.takeover`. A lock held by a live process, or by a process on another host
 * (whose liveness cannot be checked from here), is a WriteLockError naming the pid, host, command and start.
 *
 * Readers take no lock: writers commit by an atomic rename, so a reader sees the last commit.
 */
import { readFileSync } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";

export const LOCK_FILE = ".lvm-write.lock";
/** A lock or takeover file this old that still has no parseable content was left by a writer killed while creating it. */
const PARTIAL_LOCK_STALE_MS = 5_000;

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
  pidStart?: string;
}

export class WriteLockError extends Error {
  readonly holder: LockHolder;
  constructor(message: string, holder: LockHolder) {
    super(message);
    this.name = "WriteLockError";
    this.holder = holder;
  }
}

export interface WriteLock {
  readonly path: string;
  readonly holder: LockHolder;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface LockOptions {
  /** What holds the lock, shown to whoever is refused, e.g. "lvm ingest". */
  command: string;
  /** Told when a stale lock is taken over. Default: console.error. */
  warn?: (message: string) => void;
}

/** Start time of a process (field 22 of /proc/<pid>/stat), or undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // The pid exists (or exists but is not ours to signal): still the same process?
  if (holder.pidStart !== undefined) {
    const now = processStart(holder.pid);
    if (now !== undefined && now !== holder.pidStart) return false;
  }
  return true;
}

/** The lock file's one JSON line; an unreadable one (e.g. cut short by a crash while written) is undefined. */
const LockHolderSchema = z.object({
  pid: z.int(),
  host: z.string(),
  startedAt: z.string(),
  command: z.string().catch("?"),
  pidStart: z.string().optional().catch(undefined),
});

function parseHolder(text: string): LockHolder | undefined {
  try {
    return LockHolderSchema.safeParse(JSON.parse(text)).data;
  } catch {
    return undefined;
  }
}

/** Creates `path` exclusively with `text`, durably; false when it already exists. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(path).catch(() => {});
    throw error;
  }
  await handle.close();
  return true;
}

async function readIfExists(path: string): Promise<{ text: string; ageMs: number } | undefined> {
  try {
    const [text, s] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    return { text, ageMs: Date.now() - s.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(h: LockHolder): string {
  return `pid ${h.pid} (${h.command}) on ${h.host} since ${h.startedAt}`;
}

/**
 * Takes the write lock of `dir` (which must exist) or throws WriteLockError. Release it when done (or use
 * `await using`); a process killed while holding it leaves a stale lock that the next writer takes over.
 */
export async function acquireWriteLock(dir: string, options: LockOptions): Promise<WriteLock> {
  const warn = options.warn ?? ((m: string) => console.error(m));
  const path = join(dir, LOCK_FILE);
  const takeover = `${path}.takeover`;
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: options.command };
  const start = processStart(process.pid);
  if (start !== undefined) me.pidStart = start;
  const text = `${JSON.stringify(me)}\n`;

  for (let attempt = 0; attempt < 200; attempt++) {
    if (await createExclusive(path, text)) return heldLock(path, me, text);
    const current = await readIfExists(path);
    if (!current) continue; // released meanwhile: try again
    const holder = parseHolder(current.text);
    if (!holder) {
      // Being written by its creator right now, or left empty by a writer killed at that moment.
      if (current.ageMs < PARTIAL_LOCK_STALE_MS) {
        await sleep(20);
        continue;
      }
    } else if (holder.host !== me.host) {
      throw new WriteLockError(
        `${dir} is being written by ${describe(holder)}; that host's processes cannot be checked from here: if it is gone, delete ${path}`,
        holder,
      );
    } else if (isAlive(holder)) {
      throw new WriteLockError(
        `${dir} is being written by ${describe(holder)}; wait for it to finish or stop it (one writer per directory)`,
        holder,
      );
    }
    // Stale: take it over, one process at a time.
    if (!(await createExclusive(takeover, text))) {
      const other = await readIfExists(takeover);
      const otherHolder = other && parseHolder(other.text);
      if (other && ((otherHolder && otherHolder.host === me.host && !isAlive(otherHolder)) || other.ageMs > PARTIAL_LOCK_STALE_MS)) {
        await unlink(takeover).catch(() => {});
      }
      await sleep(20);
      continue;
    }
    try {
      const again = await readIfExists(path);
      if (again && again.text === current.text) {
        await unlink(path);
        warn(
          holder
            ? `taking over the stale write lock of ${describe(holder)}: that process is gone (${path})`
            : `taking over an empty write lock left by a killed writer (${path})`,
        );
      }
    } finally {
      await unlink(takeover).catch(() => {});
    }
  }
  throw new Error(`could not take the write lock ${path}: it keeps changing hands`);
}

function heldLock(path: string, holder: LockHolder, text: string): WriteLock {
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    // Only our own lock: never remove one that was (wrongly) taken over from us.
    const current = await readIfExists(path);
    if (current?.text === text) await unlink(path).catch(() => {});
  };
  return { path, holder, release, [Symbol.asyncDispose]: release };
}
