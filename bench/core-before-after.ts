// Two builds of the core side by side in one process: each LVM preset (dim 512, seeded random weights) at
// batch 1 and 32, INT8 and f32, timed round-robin (one call of each runner per iteration), wall-clock p50.
// For a kernel change: build the core of the commit before it into a folder, then compare it with wasm/build:
//   mkdir -p /tmp/before && git archive <commit> wasm/assembly | tar -x -C /tmp/before
//   (cd /tmp/before && npx --prefix "$OLDPWD" asc wasm/assembly/index-relaxed.ts --enable simd,relaxed-simd \
//      --runtime minimal -O3 --noAssert -o core-relaxed.wasm)
//   node bench/core-before-after.ts /tmp/before/core-relaxed.wasm [presets, default transformer] [seconds]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WasmCore } from "../src/core/wasm-core.ts";
import { initTensors, type Preset, presetConfig } from "../src/lvm/architectures.ts";
import { compareRows, randomContexts } from "../src/lvm/onnx/validate-node.ts";
import { CoreRunner } from "../src/lvm/runners/core.ts";
import { quantile } from "./timing.ts";

const [beforePath, presetList = "transformer", secondsArg = "6"] = process.argv.slice(2);
if (!beforePath) {
  console.error("usage: node bench/core-before-after.ts <before core.wasm> [preset,...] [seconds per batch]");
  process.exit(2);
}
const afterPath = fileURLToPath(
  new URL(`../wasm/build/${beforePath.endsWith("relaxed.wasm") ? "core-relaxed" : "core"}.wasm`, import.meta.url),
);
const load = async (path: string) => WasmCore.instantiate(await WebAssembly.compile(readFileSync(path)));
const cores = { before: await load(beforePath), after: await load(afterPath) };
const DIM = 512;
console.log(`before: ${beforePath}\nafter:  ${afterPath}`);
console.log("| model | precision | batch | before p50 ms | after p50 ms | after / before | max abs diff |\n|---|---|---|---|---|---|---|");
for (const preset of presetList.split(",") as Preset[]) {
  const config = presetConfig(preset, DIM);
  const model = { config, tensors: initTensors(config, 1), lastWeight: 0 };
  for (const precision of ["int8", "f32"] as const) {
    const runners = { before: new CoreRunner(cores.before, model, precision), after: new CoreRunner(cores.after, model, precision) };
    for (const batch of [1, 32]) {
      const contexts = randomContexts(batch, config.context, DIM, 100 + batch);
      const outs = { before: await runners.before.forward(contexts, batch), after: await runners.after.forward(contexts, batch) };
      const times = { before: [] as number[], after: [] as number[] };
      const started = performance.now();
      for (let it = 0; it < 5 || performance.now() - started < Number(secondsArg) * 1000; it++) {
        for (const side of ["before", "after"] as const) {
          const t0 = performance.now();
          await runners[side].forward(contexts, batch);
          times[side].push(performance.now() - t0);
        }
      }
      const p50 = (xs: number[]) =>
        quantile(
          [...xs].sort((a, b) => a - b),
          0.5,
        );
      const [b, a] = [p50(times.before), p50(times.after)];
      const diff = compareRows(outs.after, outs.before, DIM).maxAbsDiff;
      console.log(
        `| ${preset} | ${precision} | ${batch} | ${b.toFixed(3)} | ${a.toFixed(3)} | ${(a / b).toFixed(2)}x | ${diff.toExponential(1)} |`,
      );
    }
    runners.before.dispose();
    runners.after.dispose();
  }
}
