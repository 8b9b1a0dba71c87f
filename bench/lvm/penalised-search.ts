// Hubness-penalised search (src/index/hubness.ts) against plain search on the same core index: the one-off cost
// of the store's values (hub(c) for every row) and the per-query cost of ranking by cosine - weight * hub, which
// asks the index for a longer short list and re-ranks it. Over the dev1k vectors (41,623 x 512) when present
// and the shipped demo store (2,398 x 512). Queries: store rows with noise, like predicted vectors.
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { hubnessForStore, penalisedSearch } from "../../src/index/hubness.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { median } from "../timing.ts";
import { noisySet } from "./search.ts";
import { ensureDev1kStore } from "./store.ts";

const WEIGHT = 0.5;
const K = 10;

export async function benchPenalisedSearch(core: WasmCore, demoStore: string) {
  const found = await ensureDev1kStore();
  const dirs = [{ name: "demo", dir: demoStore }, ...("store" in found ? [{ name: "dev1k", dir: found.store }] : [])];
  const results = [];
  for (const { name, dir } of dirs) {
    const store = await readStore(dir);
    const index = new CoreIndex(core, store);
    try {
      const t = performance.now();
      const hubness = hubnessForStore(store, index);
      const hubnessSeconds = (performance.now() - t) / 1000;
      const nq = 200;
      const dim = store.dim;
      // The first nq rows plus N(0, 0.04^2) per coordinate (noise norm ~0.9, cosine to the row ~0.75; a prediction
      // is ~0.55 from its target), renormalised: noisySet's copies nq..2nq-1.
      const queries = noisySet(store.vectors.subarray(0, nq * dim), dim, 2 * nq, 0.04, 3).subarray(nq * dim);
      const plainMs: number[] = [];
      const penalisedMs: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (let q = 0; q < nq; q++) {
          const query = queries.subarray(q * dim, (q + 1) * dim);
          let s = performance.now();
          index.search(query, K);
          plainMs.push(performance.now() - s);
          s = performance.now();
          await penalisedSearch(index, store.count, query, K, { hubness, weight: WEIGHT });
          penalisedMs.push(performance.now() - s);
        }
      }
      results.push({
        set: name,
        count: store.count,
        hubnessSeconds,
        plainMsPerQuery: median(plainMs),
        penalisedMsPerQuery: median(penalisedMs),
        ratio: median(penalisedMs) / median(plainMs),
      });
    } finally {
      index.dispose();
    }
  }
  return {
    k: K,
    weight: WEIGHT,
    note: "median wall ms per query over 3 passes of 200 noisy-row queries, alternating plain and penalised",
    results,
  };
}

export function printPenalisedSearch(r: Awaited<ReturnType<typeof benchPenalisedSearch>>): void {
  console.log(`\n## Hubness-penalised top-${r.k} (weight ${r.weight}) vs plain top-${r.k}, core index (ms per query, wall clock)`);
  console.log("| set | rows | hub values (s, once per store) | plain ms/query | penalised ms/query | ratio |\n|---|---|---|---|---|---|");
  for (const x of r.results)
    console.log(
      `| ${x.set} | ${x.count} | ${x.hubnessSeconds.toFixed(2)} | ${x.plainMsPerQuery.toFixed(3)} | ${x.penalisedMsPerQuery.toFixed(3)} | ${x.ratio.toFixed(2)}x |`,
    );
}
