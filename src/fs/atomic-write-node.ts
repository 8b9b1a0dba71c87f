/**
 * Whole-file writes that a kill or a power cut cannot leave half done: each file is written to a temp file in
 * its own directory, fsynced, renamed over the target, and the directory is fsynced so the rename itself is on
 * disk. A reader sees the old file or the new one, never a mix. (write-file-atomic fsyncs the file but not the
 * directory, hence this helper.)
 *
 * `writeFilesAtomic` replaces several files of one directory as a unit as far as a crash allows: every temp
 * file is durable before the first rename, and the renames run in the order given, so the file named last
 * (e.g. model.json, which describes weights.bin) is the commit point.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export type FileData = string | Uint8Array;

/** Temp files are named `.<name>.<pid>-<random>.tmp`, so concurrent writers never share one. */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
}

/** fsync of a directory, so a rename or a new entry in it survives a crash. Not possible on Windows: skipped there. */
export async function fsyncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(path: string, data: FileData): Promise<void> {
  const handle = await open(path, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces (or creates) `path` with `data` atomically and durably. The directory must exist unless `mkdir` is set. */
export async function writeFileAtomic(path: string, data: FileData, options: { mkdir?: boolean } = {}): Promise<void> {
  await writeFilesAtomic(dirname(path), [{ name: basename(path), data }], options);
}

/** Writes `files` into `dir` (names relative to it), renaming them into place in the order given; see above. */
export async function writeFilesAtomic(
  dir: string,
  files: { name: string; data: FileData }[],
  options: { mkdir?: boolean } = {},
): Promise<void> {
  if (options.mkdir) await mkdir(dir, { recursive: true });
  const temps = files.map((f) => ({ target: join(dir, f.name), temp: tempPath(join(dir, f.name)), data: f.data }));
  const renamed = new Set<string>();
  try {
    for (const t of temps) await writeDurably(t.temp, t.data);
    for (const t of temps) {
      await rename(t.temp, t.target);
      renamed.add(t.temp);
    }
  } finally {
    // A failed write (disk full, say) leaves no temp file behind.
    for (const t of temps) if (!renamed.has(t.temp)) await unlink(t.temp).catch(() => {});
  }
  await fsyncDirectory(dir);
}

/** Temp files of writeFilesAtomic (and the older `<name>.tmp`) in `dir`, left by a writer that was killed. */
const TEMP_FILE = /^(\..+\.\d+-[0-9a-f]{8}\.tmp|[^.].*\.tmp)$/;

/** Removes temp files a killed writer left in `dir`; call it only while holding the directory's write lock. */
export async function removeTempFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => TEMP_FILE.test(n));
  for (const name of names) await unlink(join(dir, name)).catch(() => {});
  return names;
}
