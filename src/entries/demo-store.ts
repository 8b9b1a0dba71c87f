// Node: the embedded default store, built on first start from the demo corpus and vectors shipped in demo/.
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { USE_LITE_DIM, USE_LITE_ID } from "../encoders/use-lite.ts";
import { ingest } from "../ingest/ingest.ts";
import { readManifest, storeExists } from "../store/fs-store.ts";

const demo = (name: string) => fileURLToPath(new URL(`../../demo/${name}`, import.meta.url));

export const DEFAULT_STORE_DIR = fileURLToPath(new URL("../../.lvm/demo-store", import.meta.url));

export async function ensureDemoStore(dir = DEFAULT_STORE_DIR): Promise<string> {
  const vectors = demo("vectors.use-lite-512.f32");
  // One float32 row per demo concept: a store with fewer rows is new or was interrupted, and ingest
  // completes it (documents already committed are skipped).
  const concepts = (await stat(vectors)).size / (USE_LITE_DIM * 4);
  if (!(await storeExists(dir)) || (await readManifest(dir)).count !== concepts) {
    await ingest({
      corpus: demo("corpus.jsonl.gz"),
      vectors,
      store: dir,
      unit: { kind: "paragraph" },
      encoder: USE_LITE_ID,
      skipBad: false,
      commitEvery: 4096,
    });
  }
  return dir;
}
