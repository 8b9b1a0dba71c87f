// `lvm decoder-data`: a corpus's sentences (or whole paragraphs), tokenized and embedded by the core INT8 USE-lite
// encoder, into one sentence file for the vector-to-text decoder (src/decoder/dataset-format.ts).
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { buildSentenceFile, DEFAULT_MAX_TOKENS } from "../decoder/dataset-node.ts";
import { parseJsonFile } from "../validate/parse-file.ts";
import { type Command, intOption, UsageError } from "./command.ts";

const SplitSchema = z.object({ split: z.object({ train: z.array(z.string()), val: z.array(z.string()), test: z.array(z.string()) }) });

async function splitIds(path: string, part: string): Promise<Set<string>> {
  if (part !== "train" && part !== "val" && part !== "test") throw new UsageError(`--part must be train, val or test, got '${part}'`);
  const manifest = parseJsonFile(SplitSchema, await readFile(path, "utf8"), path);
  return new Set(manifest.split[part]);
}

export const decoderDataCommand: Command = {
  usage: `Usage: lvm decoder-data <corpus.jsonl[.gz]> --out <file.sent> [options]

Sentences (Intl.Segmenter, 4..32 USE-lite tokens, no unknown piece) of the corpus's articles, in file order,
with their core INT8 USE-lite vectors; with --unit paragraph, whole paragraphs (4..128 tokens) instead.

  --out <file>           the sentence file to write
  --unit <u>             sentence (default) | paragraph
  --split-of <model.json> keep only the articles of that model's split part (--part, default test)
  --part <name>          train | val | test
  --exclude-split-of <model.json>  drop the articles of that model's split part (--part)
  --skip-articles <n>    skip the first n articles that pass the filters (default 0)
  --max-articles <n>     at most n articles
  --max-sentences <n>    at most n items (sentences or paragraphs)
  --min-tokens <n>       default 4
  --max-tokens <n>       default 32 for sentences, 128 (USE-lite's input limit, also the most allowed) for paragraphs`,
  allowPositionals: true,
  options: {
    out: { type: "string" },
    unit: { type: "string" },
    "split-of": { type: "string" },
    "exclude-split-of": { type: "string" },
    part: { type: "string" },
    "skip-articles": { type: "string" },
    "max-articles": { type: "string" },
    "max-sentences": { type: "string" },
    "min-tokens": { type: "string" },
    "max-tokens": { type: "string" },
  },
  async run(values, positionals) {
    const [corpus] = positionals;
    if (!corpus || positionals.length > 1) throw new UsageError("expected one corpus path");
    const out = values.out as string | undefined;
    if (!out) throw new UsageError("--out is required");
    const unit = (values.unit as string | undefined) ?? "sentence";
    if (unit !== "sentence" && unit !== "paragraph") throw new UsageError(`--unit must be sentence or paragraph, got '${unit}'`);
    const maxTokens = intOption(values["max-tokens"], "max-tokens", DEFAULT_MAX_TOKENS[unit]);
    if (maxTokens > DEFAULT_MAX_TOKENS.paragraph)
      throw new UsageError(`--max-tokens must be <= ${DEFAULT_MAX_TOKENS.paragraph} (USE-lite reads no more), got ${maxTokens}`);
    const part = (values.part as string | undefined) ?? "test";
    const includeIds = values["split-of"] ? await splitIds(values["split-of"] as string, part) : undefined;
    const excludeIds = values["exclude-split-of"] ? await splitIds(values["exclude-split-of"] as string, part) : undefined;
    const started = Date.now();
    const set = await buildSentenceFile({
      corpus,
      out,
      includeIds,
      excludeIds,
      skipArticles: intOption(values["skip-articles"], "skip-articles", 0, 0),
      maxArticles: values["max-articles"] ? intOption(values["max-articles"], "max-articles", 1) : undefined,
      maxSentences: values["max-sentences"] ? intOption(values["max-sentences"], "max-sentences", 1) : undefined,
      minTokens: intOption(values["min-tokens"], "min-tokens", 4),
      unit,
      maxTokens,
      log: (line) => console.error(line),
    });
    console.log(
      `${out}: ${set.offsets.length - 1} ${unit}s, ${set.tokens.length} tokens, ${set.articles.length} articles (${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
    return 0;
  },
};
