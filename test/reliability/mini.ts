// Shared by the reliability suite: the mini corpus, its vectors, and a check that a store built from them is whole.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readStore } from "../../src/store/fs-store.ts";
import { MINI_CORPUS, MINI_VECTORS, REPO } from "../helpers.ts";

export const LVM = join(REPO, "bin/lvm.js");
export const DIM = 512;
export const MINI_CONCEPTS = 6399;
export const MINI_DOCUMENTS = 147;

export interface MiniDoc {
  id: string;
  title: string;
  paragraphs: string[];
}

export async function miniDocs(): Promise<MiniDoc[]> {
  return gunzipSync(await readFile(MINI_CORPUS))
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

export async function miniVectors(): Promise<Float32Array> {
  return new Float32Array(new Uint8Array(await readFile(MINI_VECTORS)).buffer);
}

/** `lvm <args>` in a child process; resolves with its exit code and output. */
export function lvmRun(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [LVM, ...args], { cwd: REPO, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/**
 * Opens the store and checks every committed row against the mini corpus: its text is the paragraph its document
 * and position name, its vector is that paragraph's row of the shared vectors file, every document appears once
 * and documents.jsonl holds exactly the committed documents. Returns the number of rows checked.
 */
export async function assertMiniStoreWhole(dir: string, expectedCount?: number): Promise<number> {
  const store = await readStore(dir);
  const docs = await miniDocs();
  const vectors = await miniVectors();
  const byId = new Map<string, { doc: MiniDoc; firstRow: number }>();
  let first = 0;
  for (const doc of docs) {
    byId.set(doc.id, { doc, firstRow: first });
    first += doc.paragraphs.length;
  }
  const problems: string[] = [];
  const ids = store.documents.map((d) => d.id);
  if (new Set(ids).size !== ids.length) problems.push(`${ids.length - new Set(ids).size} documents stored twice`);
  const lines = (await readFile(join(dir, "documents.jsonl"), "utf8")).split("\n").filter((l) => l.length > 0).length;
  if (lines !== store.documents.length)
    problems.push(`documents.jsonl has ${lines} lines for ${store.documents.length} committed documents`);
  if (expectedCount !== undefined && store.count !== expectedCount) problems.push(`count ${store.count}, expected ${expectedCount}`);
  let badText = 0;
  let badVector = 0;
  for (let row = 0; row < store.count && problems.length < 20; row++) {
    const c = store.concept(row);
    const source = byId.get(c.documentId);
    if (!source) {
      problems.push(`row ${row}: unknown document ${c.documentId}`);
      continue;
    }
    const sourceRow = source.firstRow + c.position;
    if (c.text !== source.doc.paragraphs[c.position]) badText++;
    const v = store.vector(row);
    let worst = 0;
    for (let j = 0; j < DIM; j++) worst = Math.max(worst, Math.abs(v[j] - vectors[sourceRow * DIM + j]));
    if (worst > 1e-5) {
      if (badVector === 0) problems.push(`row ${row} (${c.documentId} #${c.position}): vector is not its paragraph's (max diff ${worst})`);
      badVector++;
    }
  }
  if (badText) problems.push(`${badText} rows whose text is not their paragraph`);
  if (badVector) problems.push(`${badVector} rows whose vector is not their paragraph's`);
  if (problems.length > 0) throw new Error(`store ${dir} is corrupt:\n  ${problems.join("\n  ")}`);
  return store.count;
}

export interface ServerChild {
  base: string;
  pid: number;
  /** SIGKILL, resolved once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful), resolved once the process is gone. */
  stop(): Promise<void>;
}

/** `npm start`'s entry on a free loopback port (like test/helpers.ts startNodeServer, but killable with SIGKILL). */
export async function startServerChild(env: Record<string, string>): Promise<ServerChild> {
  const { createServer } = await import("node:net");
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const child = spawn(process.execPath, [join(REPO, "src/entries/node.ts")], {
    cwd: REPO,
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    kill9: () => {
      child.kill("SIGKILL");
      return gone;
    },
    stop: () => {
      child.kill("SIGTERM");
      return gone;
    },
  };
}

/** Five context vectors of the mini tier (rows `first`..`first+4`), as /v1/next's JSON body. */
export function nextBody(vectors: Float32Array, first: number, k = 5): string {
  const context = Array.from({ length: 5 }, (_, i) => Array.from(vectors.subarray((first + i) * DIM, (first + i + 1) * DIM)));
  return JSON.stringify({ context, k });
}
