import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ingest } from "../src/ingest/ingest.ts";

export const REPO = fileURLToPath(new URL("..", import.meta.url));
/** The shared data folder beside the checkout (../shared/data/wiki). */
export const WIKI = fileURLToPath(new URL("../../shared/data/wiki/", import.meta.url));
export const MINI_CORPUS = join(WIKI, "wiki-mini.jsonl.gz");
export const MINI_VECTORS = join(WIKI, "wiki-mini.use-lite-512.f32");

export async function tempDir(prefix = "lvm-test-"): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** The mini tier as a store, from its precomputed vectors (about a second). */
export async function buildMiniStore(dir: string): Promise<string> {
  await ingest({
    corpus: MINI_CORPUS,
    vectors: MINI_VECTORS,
    store: dir,
    unit: { kind: "paragraph" },
    encoder: "use-lite",
    skipBad: false,
    commitEvery: 4096,
  });
  return dir;
}

/** n seeded values in [-scale, scale) (an LCG: the same on every run and runtime). */
export function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** max |a[i] - b[i]| (the lengths must agree). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `npm start`'s entry in a child process on a free loopback port; resolves once it listens. */
export async function startNodeServer(env: Record<string, string> = {}): Promise<{ base: string; stop(): void }> {
  const { spawn } = await import("node:child_process");
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO, "src/entries/node.ts")], {
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}
