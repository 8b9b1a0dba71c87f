// The dev1k concept store the search section reads: built on first use from ../shared/data/wiki (the corpus and
// its precomputed USE-lite vectors, `lvm ingest --vectors`: seconds) into .lvm/dev1k (git-ignored), or a reason
// to skip the section when the wiki data is not there.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { WIKI } from "../paths.ts";
import { STORE } from "./config.ts";

/** The store's folder once it is there (built now if needed), or why the section cannot run. */
export async function ensureDev1kStore(): Promise<{ store: string } | { skip: string }> {
  if (existsSync(join(STORE, "store.json"))) return { store: STORE };
  const corpus = join(WIKI, "wiki-dev1k.jsonl.gz");
  const vectors = join(WIKI, "wiki-dev1k.use-lite-512.f32");
  if (!existsSync(corpus) || !existsSync(vectors))
    return { skip: `no dev1k store at ${STORE} and no ${corpus} + ${vectors} to build it from (set LVM_WIKI or LVM_BENCH_STORE)` };
  process.stderr.write(`lvm bench: building ${STORE} from ${corpus} (lvm ingest --vectors)...\n`);
  const code = await main(["ingest", corpus, "--store", STORE, "--vectors", vectors]);
  if (code !== 0) return { skip: `lvm ingest of ${corpus} into ${STORE} exited ${code}` };
  return { store: STORE };
}
