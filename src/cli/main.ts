import { StoreError } from "../store/format.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";

/**
 * Each command's module is imported only when it runs: some pull in TF.js, onnxruntime or transformers.js,
 * and `lvm ingest` or `lvm --help` should not wait for them. This table is the one place a command's name and
 * summary are written: `lvm --help` lists them and `lvm <command> --help` starts with its summary.
 */
const commands: { name: string; summary: string; load: () => Promise<Command> }[] = [
  {
    name: "ingest",
    summary: "add a corpus (.jsonl or .jsonl.gz) to a concept store, embedding it or importing vectors",
    load: () => import("./ingest.ts").then((m) => m.ingestCommand),
  },
  {
    name: "train",
    summary: "train an LVM (gru, lstm, transformer, gru-edge) on a concept store; --resume continues after a kill",
    load: () => import("./train.ts").then((m) => m.trainCommand),
  },
  {
    name: "eval",
    summary: "evaluate LVMs on a store's held-out split: load, validation, speed, top-k vs baselines, rollout",
    load: () => import("./eval.ts").then((m) => m.evalCommand),
  },
  {
    name: "tune",
    summary: "choose a trained model's blend and hubness penalty again on its validation split; rewrites model.json",
    load: () => import("./tune.ts").then((m) => m.tuneCommand),
  },
  {
    name: "quantize",
    summary: "post-training INT8 (per-output-channel weights) of a model directory",
    load: () => import("./quantize.ts").then((m) => m.quantizeCommand),
  },
  {
    name: "export-onnx",
    summary: "write a model as ONNX (f32 or --int8) and check it against the reference on onnxruntime-node and -web",
    load: () => import("./export-onnx.ts").then((m) => m.exportOnnxCommand),
  },
  {
    name: "index",
    summary: "build or check a store's approximate (HNSW) index: lvm index build|check --store <dir>",
    load: () => import("./index.ts").then((m) => m.indexCommand),
  },
  {
    name: "bench",
    summary: "run the benchmarks (all, or the named sections), each as ratios against a reference in the same run",
    load: () => import("./bench.ts").then((m) => m.benchCommand),
  },
  {
    name: "publish",
    summary: "cut a store into shards with their own HNSW graphs for the sharded Worker and publish them to R2 (or a directory)",
    load: () => import("./publish.ts").then((m) => m.publishCommand),
  },
  {
    name: "serve",
    summary: "run the HTTP API and the web page over a store (the embedded demo store by default)",
    load: () => import("./serve.ts").then((m) => m.serveCommand),
  },
  {
    name: "metrics",
    summary: "print request latency percentiles (p50/p95/p99 per endpoint and stage) from the metrics database",
    load: () => import("./metrics.ts").then((m) => m.metricsCommand),
  },
  {
    name: "decoder-data",
    summary: "sentences of a corpus with their core INT8 USE-lite vectors, for the vector-to-text decoder",
    load: () => import("./decoder-data.ts").then((m) => m.decoderDataCommand),
  },
  {
    name: "train-decoder",
    summary: "train the vector-to-text decoder (GRU over the USE-lite pieces) on decoder-data sentence files",
    load: () => import("./train-decoder.ts").then((m) => m.trainDecoderCommand),
  },
  {
    name: "decode",
    summary: "say vectors as text: the trained decoder on the WASM core, refined by re-embedding (file, stdin or --text)",
    load: () => import("./decode.ts").then((m) => m.decodeCommand),
  },
  {
    name: "eval-decoder",
    summary: "evaluate the decoder on held-out sentences per refinement step against retrieval decode (cosine, BLEU, token F1)",
    load: () => import("./eval-decoder.ts").then((m) => m.evalDecoderCommand),
  },
  {
    name: "quantize-decoder",
    summary: "write the INT8 copy of a float32 decoder directory (about a quarter of its size; the weights the core runs)",
    load: () => import("./quantize-decoder.ts").then((m) => m.quantizeDecoderCommand),
  },
  {
    name: "models",
    summary: "fetch encoder models (lvm models pull gtr-t5-base) and list local encoders and LVMs",
    load: () => import("./models.ts").then((m) => m.modelsCommand),
  },
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `lvm — next-concept prediction tools\n\nUsage: lvm <command> [options]   (lvm <command> --help for its options)\n\nCommands:\n${commands
    .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
    .join("\n")}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(overview());
    return name ? 0 : 1;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    console.error(`lvm: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  const command = await entry.load();
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      console.log(`lvm ${entry.name}: ${entry.summary}\n\n${command.usage}`);
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`lvm ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    // Expected failures (bad input, mismatched store) are one clear line; anything else keeps its stack.
    const expected =
      error instanceof StoreError || (error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError));
    console.error(`lvm ${name}: ${expected ? (error as Error).message : (error as Error).stack}`);
    return 1;
  }
}
