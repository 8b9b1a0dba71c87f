// One encoder measurement in its own process (TF.js registers kernels globally; each runtime gets a clean
// heap). Prints one JSON line: {runtime, concepts, tokens, seconds, cpuSeconds, conceptsPerSecond, conceptsPerCpuSecond}.
//   tfjs       USE-lite on TF.js's WASM backend (src/encoders/use-lite.ts; one thread), embed only
//   core-int8  USE-lite on the WASM core, INT8 (src/encoders/use-lite-core.ts), embed only
//   core-f32   the same in f32
//   ingest     `lvm ingest` end to end with the default encoder (core INT8): corpus -> embed -> durable store
//   ingest-2   the same with --threads 2 (two worker threads embedding, each with its own core; CPU time of
//              the whole process, all threads)
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Encoder } from "../src/encoders/types.ts";
import { startTimer } from "./timing.ts";

const [runtime, corpusPath] = process.argv.slice(2);
const docs: { id: string; title: string; paragraphs: string[] }[] = JSON.parse(await readFile(corpusPath, "utf8"));
const paragraphs = docs.flatMap((d) => d.paragraphs);

async function embedOnly(encoder: Encoder, batch: number): Promise<{ wallMs: number; cpuMs: number }> {
  await encoder.embed(paragraphs.slice(0, 8)); // warm-up: first call compiles kernels
  const stop = startTimer();
  for (let i = 0; i < paragraphs.length; i += batch) await encoder.embed(paragraphs.slice(i, i + batch));
  return stop();
}

let time: { wallMs: number; cpuMs: number };
let threads = 1;
if (runtime === "tfjs") {
  const { loadUseLiteEncoder } = await import("../src/encoders/use-lite-node.ts");
  const tfWasm = await import("@tensorflow/tfjs-backend-wasm");
  const encoder = await loadUseLiteEncoder({ batchSize: 32 });
  threads = tfWasm.getThreadsCount();
  time = await embedOnly(encoder, 256);
} else if (runtime === "core-int8" || runtime === "core-f32") {
  const { loadUseLiteCoreEncoder } = await import("../src/encoders/use-lite-core-node.ts");
  time = await embedOnly(await loadUseLiteCoreEncoder({ precision: runtime === "core-int8" ? "int8" : "f32" }), 256);
} else if (runtime === "ingest" || runtime === "ingest-2") {
  const { ingest } = await import("../src/ingest/ingest.ts");
  threads = runtime === "ingest" ? 1 : 2;
  const dir = await mkdtemp(join(tmpdir(), "lvm-bench-"));
  const corpus = join(dir, "corpus.jsonl");
  await writeFile(corpus, docs.map((d) => JSON.stringify(d)).join("\n"));
  const stop = startTimer();
  const cpu0 = process.cpuUsage();
  await ingest({
    corpus,
    store: join(dir, "store"),
    unit: { kind: "paragraph" },
    encoder: "use-lite",
    skipBad: false,
    commitEvery: 256,
    threads,
  });
  time = stop();
  if (threads > 1) {
    const cpu = process.cpuUsage(cpu0);
    time.cpuMs = (cpu.user + cpu.system) / 1000;
  }
  await rm(dir, { recursive: true, force: true });
} else {
  throw new Error(`unknown runtime '${runtime}' (tfjs, core-int8, core-f32, ingest, ingest-2)`);
}
const seconds = time.wallMs / 1000;
const cpuSeconds = time.cpuMs / 1000;
console.log(
  JSON.stringify({
    runtime,
    threads,
    concepts: paragraphs.length,
    seconds,
    cpuSeconds,
    conceptsPerSecond: paragraphs.length / seconds,
    conceptsPerCpuSecond: paragraphs.length / cpuSeconds,
  }),
);
