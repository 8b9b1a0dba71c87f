// `npm run bench [-- section ...]`: every benchmark, each printed as ratios against the reference measured
// in the same run; results also written to bench/results/latest.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchEncoder } from "./encoder.ts";
import { benchGpu } from "./gpu.ts";
import { benchHnsw } from "./hnsw.ts";
import { benchHttp } from "./http.ts";
import { benchHttpForms } from "./http-forms.ts";
import { benchKernel } from "./kernel.ts";
import { benchLvm } from "./lvm.ts";
import { benchMetrics } from "./metrics.ts";
import { benchNodeDecode } from "./node-decode.ts";
import { RESULTS } from "./paths.ts";
import { benchSharded } from "./sharded.ts";
import { benchWorkerDecode } from "./worker-decode.ts";
import { benchWorkerText } from "./worker-text.ts";

const sections: Record<string, () => Promise<Record<string, unknown>>> = {
  encoder: benchEncoder,
  lvm: benchLvm,
  kernel: benchKernel,
  hnsw: benchHnsw,
  metrics: benchMetrics,
  http: benchHttp,
  "http-forms": benchHttpForms,
  gpu: benchGpu,
  sharded: benchSharded,
  "worker-text": benchWorkerText,
  "worker-decode": benchWorkerDecode,
  "node-decode": benchNodeDecode,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((w) => !(w in sections));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(", ")} (known: ${Object.keys(sections).join(", ")})`);
  process.exit(2);
}
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
for (const name of wanted.length > 0 ? wanted : Object.keys(sections)) results[name] = await sections[name]();
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${join(RESULTS, "latest.json")}`);
