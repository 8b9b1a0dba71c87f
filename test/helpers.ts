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

export function cosine(a: Float32Array, b: Float32Array): number {
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
