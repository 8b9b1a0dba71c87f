import { availableParallelism } from "node:os";
import { USE_LITE_ID } from "../encoders/use-lite.ts";
import { parseUnit } from "../ingest/corpus.ts";
import { ingest } from "../ingest/ingest.ts";
import { type Command, intOption, UsageError } from "./command.ts";
import { createProgress } from "./progress.ts";

export const ingestCommand: Command = {
  usage: `lvm ingest <corpus.jsonl|.jsonl.gz> --store <dir> [options]

Each corpus line is {"id","title","paragraphs":[...]} or {"id","title","text":"..."}.
Re-running the same command after an interruption resumes: documents already in the store are skipped.

Options:
  --store <dir>          store directory (created if missing)                 (required)
  --unit <u>             paragraph | sentences:N (N sentences per concept)     [paragraph]
  --encoder <id>         encoder recorded in the store and used to embed       [${USE_LITE_ID}]
  --vectors <file.f32>   import float32 rows (one per concept, corpus order) instead of embedding
  --skip-bad             skip malformed lines and list them at the end (default: stop at the first)
  --commit-every <n>     concepts per durable commit                           [256 embedding, 4096 importing]
  --threads <n>          worker threads that embed, each with its own encoder; 1 embeds on the main
                         thread (commits stay in corpus order either way)       [available cores: ${availableParallelism()}]`,
  allowPositionals: true,
  options: {
    store: { type: "string" },
    unit: { type: "string" },
    encoder: { type: "string" },
    vectors: { type: "string" },
    "skip-bad": { type: "boolean" },
    "commit-every": { type: "string" },
    threads: { type: "string" },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError(`expected one corpus file, got ${positionals.length}`);
    if (typeof values.store !== "string") throw new UsageError("--store <dir> is required");
    let unit: ReturnType<typeof parseUnit>;
    try {
      unit = parseUnit((values.unit as string | undefined) ?? "paragraph");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const vectors = values.vectors as string | undefined;
    const progress = createProgress("ingest");
    const started = Date.now();
    const result = await ingest({
      corpus: positionals[0],
      store: values.store,
      unit,
      encoder: (values.encoder as string | undefined) ?? USE_LITE_ID,
      vectors,
      skipBad: values["skip-bad"] === true,
      commitEvery: intOption(values["commit-every"], "commit-every", vectors ? 4096 : 256),
      threads: intOption(values.threads, "threads", availableParallelism()),
      onProgress: (p) => progress.update(p.done, p.total),
    }).finally(() => progress.stop());
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `ingested ${result.conceptsAdded} concepts from ${result.documentsAdded} documents in ${seconds.toFixed(1)}s` +
        `${result.documentsSkipped ? `; ${result.documentsSkipped} documents were already in the store` : ""}; store now holds ${result.storeCount} concepts`,
    );
    if (result.badLines.length > 0) {
      console.log(`skipped ${result.badLines.length} bad lines:`);
      for (const bad of result.badLines) console.log(`  ${bad.message}`);
    }
    return 0;
  },
};
