// USE-lite throughput on one thread: TF.js (the reference runtime) and the WASM core (INT8 and f32) on the
// same mini-tier paragraphs, each in its own process, as ratios against TF.js measured in the same run;
// plus `lvm ingest` end to end with the default encoder. Wall-clock and this thread's CPU time are both
// reported: the CPU figure is the steadier one on a shared machine.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { WIKI } from "./paths.ts";

interface Run {
  runtime: string;
  threads: number;
  concepts: number;
  seconds: number;
  cpuSeconds: number;
  conceptsPerSecond: number;
  conceptsPerCpuSecond: number;
}

const PARAGRAPHS = Number(process.env.LVM_BENCH_ENCODER_PARAGRAPHS ?? 512);

export async function benchEncoder(): Promise<Record<string, unknown>> {
  if (!existsSync(join(WIKI, "wiki-mini.jsonl.gz"))) {
    console.log(`\n## Encoder\nskipped: no ${join(WIKI, "wiki-mini.jsonl.gz")} (set LVM_WIKI to the wiki data folder)`);
    return { skipped: `no ${join(WIKI, "wiki-mini.jsonl.gz")}` };
  }
  const docs: { id: string; title: string; paragraphs: string[] }[] = gunzipSync(readFileSync(join(WIKI, "wiki-mini.jsonl.gz")))
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  // The first PARAGRAPHS paragraphs of the mini tier, kept in their documents.
  const picked: typeof docs = [];
  let left = PARAGRAPHS;
  for (const d of docs) {
    if (left === 0) break;
    picked.push({ ...d, paragraphs: d.paragraphs.slice(0, left) });
    left -= Math.min(left, d.paragraphs.length);
  }
  const corpus = join(tmpdir(), `lvm-bench-encoder-${process.pid}.json`);
  writeFileSync(corpus, JSON.stringify(picked));
  const run = (runtime: string): Run =>
    JSON.parse(
      execFileSync(process.execPath, [new URL("./encoder-run.ts", import.meta.url).pathname, runtime, corpus], { encoding: "utf8" })
        .trim()
        .split("\n")
        .pop()!,
    );
  const runs = ["tfjs", "core-int8", "core-f32", "ingest"].map(run);
  const tfjs = runs[0];
  const labels: Record<string, string> = {
    tfjs: "TF.js WASM backend (reference), embed only, length-sorted batches of 32",
    "core-int8": "WASM core INT8 (default on Node), embed only, packed batches of <= 1,024 tokens",
    "core-f32": "WASM core f32, embed only",
    ingest: "`lvm ingest` end to end (core INT8, store writes, model load)",
  };
  console.log(`\n## Encoder: USE-lite concepts/s on one thread, ${runs[0].concepts} mini-tier paragraphs`);
  console.log("| runtime | concepts/s (wall) | x TF.js | concepts per CPU-second | x TF.js |\n|---|---|---|---|---|");
  for (const r of runs) {
    console.log(
      `| ${labels[r.runtime]} | ${r.conceptsPerSecond.toFixed(1)} | ${(r.conceptsPerSecond / tfjs.conceptsPerSecond).toFixed(2)} | ${r.conceptsPerCpuSecond.toFixed(1)} | ${(r.conceptsPerCpuSecond / tfjs.conceptsPerCpuSecond).toFixed(2)} |`,
    );
  }
  if (tfjs.threads !== 1) console.log(`note: TF.js ran with ${tfjs.threads} threads`);
  const ratios = Object.fromEntries(runs.map((r) => [r.runtime, r.conceptsPerSecond / tfjs.conceptsPerSecond]));
  return { paragraphs: runs[0].concepts, runs, ratiosVsTfjs: ratios };
}
