// Ingest throughput of our encoder vs the reference runtime (@energetic-ai/embeddings) on the same 256 paragraphs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { WIKI } from "./paths.ts";

interface Run {
  runtime: string;
  concepts: number;
  seconds: number;
  conceptsPerSecond: number;
}

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
  // The first 256 paragraphs of the mini tier, kept in their documents.
  const picked: typeof docs = [];
  let left = 256;
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
  const reference = run("reference");
  const ours = run("ours");
  console.log("\n## Encoder: USE-lite ingest throughput, 256 mini paragraphs, one core");
  console.log("| runtime | concepts/s | seconds |\n|---|---|---|");
  console.log(
    `| @energetic-ai/embeddings (reference, embed only, batches of 32) | ${reference.conceptsPerSecond.toFixed(1)} | ${reference.seconds.toFixed(1)} |`,
  );
  console.log(
    `| lvm-edge ingest (TF.js WASM, length-sorted batches, store writes, model load) | ${ours.conceptsPerSecond.toFixed(1)} | ${ours.seconds.toFixed(1)} |`,
  );
  const ratio = ours.conceptsPerSecond / reference.conceptsPerSecond;
  console.log(`ratio ours / reference: ${ratio.toFixed(2)}x`);
  return { reference, ours, ratio };
}
