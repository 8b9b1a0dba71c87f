// Node: the embedded default store, built on first start from the demo corpus and vectors shipped in demo/.
import { fileURLToPath } from "node:url";
import { USE_LITE_ID } from "../encoders/use-lite.ts";
import { ingest } from "../ingest/ingest.ts";
import { storeExists } from "../store/fs-store.ts";

const demo = (name: string) => fileURLToPath(new URL(`../../demo/${name}`, import.meta.url));

export const DEFAULT_STORE_DIR = fileURLToPath(new URL("../../.lvm/demo-store", import.meta.url));

export async function ensureDemoStore(dir = DEFAULT_STORE_DIR): Promise<string> {
  // Also completes a build that was interrupted: ingest skips the documents already committed.
  if (!(await storeExists(dir)) || !(await isComplete(dir))) {
    await ingest({
      corpus: demo("corpus.jsonl.gz"),
      vectors: demo("vectors.use-lite-512.f32"),
      store: dir,
      unit: { kind: "paragraph" },
      encoder: USE_LITE_ID,
      skipBad: false,
      commitEvery: 4096,
    });
  }
  return dir;
}

const DEMO_CONCEPTS = 2398;

async function isComplete(dir: string): Promise<boolean> {
  const { readManifest } = await import("../store/fs-store.ts");
  return (await readManifest(dir)).count === DEMO_CONCEPTS;
}
