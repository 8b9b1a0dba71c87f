// USE-lite throughput on one thread: TF.js (the reference runtime) and the WASM core (INT8 and f32) on the
// same mini-tier paragraphs, each in its own process, as ratios against TF.js measured in the same run;
// plus `lvm ingest` end to end with the default encoder on 1 and 2 threads (LVM_BENCH_INGEST_PARAGRAPHS,
// default 2,048: worker start-up is amortised), and /v1/next with text on the Node server (encoder-http.ts).
// Wall-clock and CPU time are both reported: the CPU figure is the steadier one on a shared machine.
// Targets (issue 11): core INT8 >= 3x TF.js on one thread; ingest with 2 threads >= 5x; /v1/next with 5 new
// texts >= 5x, with a sliding window >= 20x. LVM_BENCH_ENCODER_HTTP=0 skips the HTTP part.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { benchEncoderHttp } from "./encoder-http.ts";
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
const INGEST_PARAGRAPHS = Number(process.env.LVM_BENCH_INGEST_PARAGRAPHS ?? 2048);

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
  // The first n paragraphs of the mini tier, kept in their documents.
  const corpusOf = (n: number, name: string) => {
    const picked: typeof docs = [];
    let left = n;
    for (const d of docs) {
      if (left === 0) break;
      picked.push({ ...d, paragraphs: d.paragraphs.slice(0, left) });
      left -= Math.min(left, d.paragraphs.length);
    }
    const path = join(tmpdir(), `lvm-bench-encoder-${process.pid}-${name}.json`);
    writeFileSync(path, JSON.stringify(picked));
    return path;
  };
  const corpus = corpusOf(PARAGRAPHS, "embed");
  const ingestCorpus = corpusOf(INGEST_PARAGRAPHS, "ingest");
  const run = (runtime: string): Run =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [new URL("./encoder-run.ts", import.meta.url).pathname, runtime, runtime.startsWith("ingest") ? ingestCorpus : corpus],
        { encoding: "utf8" },
      )
        .trim()
        .split("\n")
        .pop()!,
    );
  const runs = ["tfjs", "core-int8", "core-f32", "ingest", "ingest-2"].map(run);
  const tfjs = runs[0];
  const labels: Record<string, string> = {
    tfjs: "TF.js WASM backend (reference), embed only, length-sorted batches of 32",
    "core-int8": "WASM core INT8 (default on Node), embed only, packed batches of <= 1,024 tokens",
    "core-f32": "WASM core f32, embed only",
    ingest: "`lvm ingest --threads 1` end to end (core INT8, store writes, model load)",
    "ingest-2": "`lvm ingest --threads 2` end to end (2 worker threads; CPU of all threads)",
  };
  const targets: Record<string, number> = { "core-int8": 3, "ingest-2": 5 };
  console.log(
    `\n## Encoder: USE-lite concepts/s, ${runs[0].concepts} mini-tier paragraphs (ingest: ${runs[3].concepts}), ratios against TF.js on one thread`,
  );
  console.log("| runtime | concepts/s (wall) | x TF.js | target | concepts per CPU-second | x TF.js |\n|---|---|---|---|---|---|");
  for (const r of runs) {
    const ratio = r.conceptsPerSecond / tfjs.conceptsPerSecond;
    const target = targets[r.runtime];
    console.log(
      `| ${labels[r.runtime]} | ${r.conceptsPerSecond.toFixed(1)} | ${ratio.toFixed(2)} | ${target ? `>= ${target}x: ${ratio >= target ? "met" : "NOT met"}` : "-"} | ${r.conceptsPerCpuSecond.toFixed(1)} | ${(r.conceptsPerCpuSecond / tfjs.conceptsPerCpuSecond).toFixed(2)} |`,
    );
  }
  if (tfjs.threads !== 1) console.log(`note: TF.js ran with ${tfjs.threads} threads`);
  const ratios = Object.fromEntries(runs.map((r) => [r.runtime, r.conceptsPerSecond / tfjs.conceptsPerSecond]));
  const http = process.env.LVM_BENCH_ENCODER_HTTP === "0" ? { skipped: "LVM_BENCH_ENCODER_HTTP=0" } : await benchEncoderHttp();
  return { paragraphs: runs[0].concepts, runs, ratiosVsTfjs: ratios, http };
}
