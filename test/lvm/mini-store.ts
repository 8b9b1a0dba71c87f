// Test helper: builds the mini concept store (147 articles, precomputed USE-lite vectors) in a temp dir.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { USE_LITE_ID } from "../../src/encoders/use-lite.ts";
import { parseUnit } from "../../src/ingest/corpus.ts";
import { ingest } from "../../src/ingest/ingest.ts";

export const WIKI_DIR = fileURLToPath(new URL("../../../shared/data/wiki/", import.meta.url));

export async function buildMiniStore(): Promise<{ dir: string; root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "lvm-test-"));
  const dir = join(root, "mini");
  await ingest({
    corpus: join(WIKI_DIR, "wiki-mini.jsonl.gz"),
    store: dir,
    unit: parseUnit("paragraph"),
    encoder: USE_LITE_ID,
    vectors: join(WIKI_DIR, "wiki-mini.use-lite-512.f32"),
    skipBad: false,
    commitEvery: 4096,
  });
  return { dir, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Deterministic unit rows [rows, dim]. */
export function randomUnitRows(rows: number, dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const x = Float32Array.from({ length: rows * dim }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
  for (let r = 0; r < rows; r++) {
    const n = Math.hypot(...x.subarray(r * dim, (r + 1) * dim));
    for (let j = 0; j < dim; j++) x[r * dim + j] /= n;
  }
  return x;
}
