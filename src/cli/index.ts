import { loadCore } from "../core/wasm-core-node.ts";
import { exactSearch } from "../index/exact.ts";
import { buildStoreIndex, indexPath, loadIntoHnswlib, readStoreGraph } from "../index/hnsw-build.ts";
import { HnswCoreIndex } from "../index/hnsw-core.ts";
import { readStore } from "../store/fs-store.ts";
import { type Command, intOption, UsageError } from "./command.ts";
import { createProgress } from "./progress.ts";

export const indexCommand: Command = {
  usage: `lvm index build --store <dir> [--M 16] [--ef-construction 200] [--seed 100]
lvm index check --store <dir>

build   builds the HNSW graph of every concept with hnswlib-wasm and writes <dir>/index.hnsw (the graph in
        the core's format plus 4-bit codes for memory-tight runtimes). The server and 'lvm eval' then use it
        unless a request asks for exact search. Rebuild after adding concepts to the store.
check   validates <dir>/index.hnsw against the store, loads it into the WASM core and into hnswlib-wasm, and
        reports its recall@10 against exact search on 200 stored concepts.

Options:
  --store <dir>              store directory                                  (required)
  --M <n>                    graph degree (level 0 keeps up to 2 M links)    [16]
  --ef-construction <n>      candidate list while building                    [200]
  --seed <n>                 hnswlib's level-assignment seed                  [100]`,
  allowPositionals: true,
  options: {
    store: { type: "string" },
    M: { type: "string" },
    "ef-construction": { type: "string" },
    seed: { type: "string" },
  },
  async run(values, positionals) {
    const [action] = positionals;
    if (positionals.length !== 1 || (action !== "build" && action !== "check"))
      throw new UsageError(`expected 'build' or 'check', got ${positionals.join(" ") || "nothing"}`);
    if (typeof values.store !== "string") throw new UsageError("--store <dir> is required");
    const dir = values.store;
    if (action === "build") {
      const M = intOption(values.M, "M", 16, 2);
      const efConstruction = intOption(values["ef-construction"], "ef-construction", 200);
      const seed = intOption(values.seed, "seed", 100, 0);
      const progress = createProgress("index");
      const built = await buildStoreIndex(dir, {
        M,
        efConstruction,
        seed,
        onProgress: (done, total) => progress.update(done, total),
      }).finally(() => progress.stop());
      const g = built.graph;
      console.log(
        `built ${built.path}: ${g.count} concepts, M ${g.M}, efConstruction ${g.efConstruction}, ${g.maxLevel + 1} levels, ` +
          `${(g.l0Links.length / Math.max(g.count, 1)).toFixed(1)} links per concept at level 0; ` +
          `${(built.bytes.length / 2 ** 20).toFixed(1)} MiB; hnswlib-wasm build ${built.buildSeconds.toFixed(1)}s`,
      );
      return 0;
    }
    const store = await readStore(dir);
    const graph = await readStoreGraph(dir, store);
    const core = await loadCore();
    const index = new HnswCoreIndex(core, graph, store);
    const hnswlib = await loadIntoHnswlib(dir, store);
    hnswlib.setEf(index.ef);
    const n = Math.min(200, store.count);
    let ours = 0;
    let theirs = 0;
    for (let i = 0; i < n; i++) {
      const row = Math.floor((i * store.count) / n);
      const q = store.vector(row);
      const want = new Set(exactSearch(store.vectors, store.dim, q, 10).rows);
      for (const r of index.search(q, 10).rows) if (want.has(r)) ours++;
      for (const r of hnswlib.search(q, 10).rows) if (want.has(r)) theirs++;
    }
    console.log(
      `${indexPath(dir)}: valid for this store (${graph.count} concepts, M ${graph.M}); recall@10 at ef ${index.ef} on ${n} stored concepts: ` +
        `core ${(ours / (10 * n)).toFixed(4)}, hnswlib-wasm ${(theirs / (10 * n)).toFixed(4)}`,
    );
    index.dispose();
    return 0;
  },
};
