/**
 * LVM inference and exact search, side by side in one process on the same model weights and inputs:
 *
 * - inference (bench/lvm/models.ts): our core INT8 and f32, onnxruntime-web (wasm, 1 thread) and onnxruntime-node
 *   (CPU EP, 1 intra-op thread; default threads at batch 32 as well) on the float32 ONNX export of the same model,
 *   plus the INT8 ONNX export on both onnxruntime backends. Models: presetConfig(p, 512) with initTensors (seeded
 *   random weights: speed does not depend on the values). Runners are called round-robin (one call each per
 *   iteration), so drift from other processes on the shared cores hits all of them alike; wall-clock p50 is the
 *   headline; ratios compare like with like (INT8 runners with onnxruntime's INT8 graph, f32 with float32).
 * - kernels (bench/lvm/kernels.ts): the dense layer alone at the GRU's shapes, core against onnxruntime.
 * - search (bench/lvm/search.ts): exact top-20, our core (INT8 scan + f32 rescoring) vs exactSearch (plain
 *   TypeScript) over the dev1k vectors (41,623 x 512), a 100k x 512 set and a 325k x 512 set made from them; the
 *   dev1k store is built from ../shared/data/wiki on first use (bench/lvm/store.ts), or the part is skipped with
 *   the reason printed.
 * - penalised search (bench/lvm/penalised-search.ts): the hubness penalty's one-off store cost and per-query cost
 *   against plain search on the same core index (demo store, and dev1k when present).
 *
 * `node bench/lvm.ts` runs it alone and writes bench/results/lvm.json; `npm run bench -- lvm` via bench/run.ts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCore } from "../src/core/wasm-core-node.ts";
import { DEFAULT_STORE_DIR } from "../src/entries/demo-store.ts";
import { PRESETS } from "../src/lvm/architectures.ts";
import { fmt, SECONDS_B1, SECONDS_B32 } from "./lvm/config.ts";
import { benchKernels, printKernels } from "./lvm/kernels.ts";
import { benchModel, printModels } from "./lvm/models.ts";
import { benchPenalisedSearch, printPenalisedSearch } from "./lvm/penalised-search.ts";
import { benchSearch, printSearch } from "./lvm/search.ts";
import { RESULTS } from "./paths.ts";

export async function benchLvm(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const core = await loadCore();
  const models = [];
  const only = process.env.LVM_BENCH_PRESETS?.split(",");
  for (const preset of PRESETS.filter((p) => !only || only.includes(p))) {
    process.stderr.write(`lvm bench: ${preset}...\n`);
    models.push(await benchModel(preset, core));
  }
  const targets: Record<string, unknown> = printModels(models);
  process.stderr.write("lvm bench: kernels...\n");
  const kernels = await benchKernels(core);
  printKernels(kernels);
  process.stderr.write("lvm bench: search...\n");
  const search = await benchSearch(core);
  Object.assign(targets, printSearch(search));
  process.stderr.write("lvm bench: penalised search...\n");
  const penalisedSearch = await benchPenalisedSearch(core, DEFAULT_STORE_DIR);
  printPenalisedSearch(penalisedSearch);
  console.log(
    `targets (core INT8 >= 2x ort-wasm INT8 and >= 0.5x ort-node INT8 at batch 32; search <= 3 ms at 100k): ${JSON.stringify(targets)}`,
  );
  return {
    note: "random seeded weights (initTensors seed 1); ONNX runners run the float32 export unless the id ends in -int8; samples/s from the p50 latency; CPU = the calling thread's (process.threadCpuUsage), none for onnxruntime-node (it runs on a libuv worker thread)",
    ortNodeThreads: {
      benchmarked: 1,
      defaultRunner: "ort-node-default-threads (intraOpNumThreads unset: onnxruntime's default)",
      cpus: os.availableParallelism(),
    },
    timing: `runners called round-robin, one call each per iteration, for ${SECONDS_B1}s (batch 1) / ${SECONDS_B32}s (batch 32) per model; samples/s = batch / p50`,
    models,
    kernels,
    search,
    penalisedSearch,
    targets,
    seconds: (performance.now() - started) / 1000,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchLvm();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, "lvm.json"),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, lvm: result }, null, 2)}\n`,
  );
  console.log(`\nwrote ${join(RESULTS, "lvm.json")} in ${fmt(result.seconds as number, 1)}s`);
}
