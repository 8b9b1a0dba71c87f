// Node: corpus (.jsonl / .jsonl.gz) -> the decoder's sentence file (dataset-format.ts), embedded by the core INT8
// USE-lite encoder. Articles are taken in file order, filtered by id (--split-of) and by position (skip/max),
// so train, validation and test files are article-disjoint by construction. The unit is a sentence (text.ts's
// rule) or a whole paragraph; either way an item is kept only if the encoder reads all of it (<= 128 tokens, the
// graph's limit, and no unknown piece), so its vector is of exactly the ids stored and its ids detokenize to it.
import { readFile } from "node:fs/promises";
import { USE_LITE_ID } from "../encoders/use-lite.ts";
import { USE_LITE_MAX_CHARS, type UseLiteCore } from "../encoders/use-lite-core.ts";
import { loadUseLiteCoreEncoder } from "../encoders/use-lite-core-node.ts";
import { USE_LITE_MAX_TOKENS } from "../encoders/use-lite-weights.ts";
import { writeFileAtomic } from "../fs/atomic-write-node.ts";
import { parseCorpusLine } from "../ingest/corpus.ts";
import { readLines } from "../ingest/read-lines.ts";
import { readSentenceFile, type SentenceSet, writeSentenceFile } from "./dataset-format.ts";
import { splitSentences, UNK_ID } from "./text.ts";

/** What one item of the file is: a sentence of a paragraph, or the whole paragraph. */
export type TextUnit = "sentence" | "paragraph";

/** Default --max-tokens per unit: the decoder's sentence length, and the encoder's own input limit for paragraphs. */
export const DEFAULT_MAX_TOKENS: Record<TextUnit, number> = { sentence: 32, paragraph: USE_LITE_MAX_TOKENS };

/** The items of one paragraph: its sentences, or the paragraph itself (trimmed); empty ones dropped. */
export function textUnits(paragraph: string, unit: TextUnit): string[] {
  if (unit === "sentence") return splitSentences(paragraph);
  const text = paragraph.trim();
  return text.length > 0 ? [text] : [];
}

export interface BuildSentencesOptions {
  corpus: string;
  out: string;
  /** Keep only articles whose id is in this set (absent: all). */
  includeIds?: ReadonlySet<string>;
  /** Drop articles whose id is in this set. */
  excludeIds?: ReadonlySet<string>;
  /** Skip the first N articles that pass the id filters. */
  skipArticles?: number;
  maxArticles?: number;
  /** At most this many items (sentences or paragraphs). */
  maxSentences?: number;
  /** Default "sentence". */
  unit?: TextUnit;
  minTokens?: number;
  /** Default DEFAULT_MAX_TOKENS[unit]; at most the encoder's 128. */
  maxTokens?: number;
  /** Sentences embedded per core call. */
  chunk?: number;
  log?: (line: string) => void;
  /** The encoder (default: the core INT8 USE-lite). */
  encoder?: UseLiteCore;
}

export async function buildSentenceFile(options: BuildSentencesOptions): Promise<SentenceSet> {
  const { unit = "sentence", minTokens = 4, skipArticles = 0, chunk = 256 } = options;
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS[unit];
  if (maxTokens > USE_LITE_MAX_TOKENS)
    throw new Error(`maxTokens ${maxTokens} is past USE-lite's ${USE_LITE_MAX_TOKENS}: the encoder would read only the beginning`);
  const maxArticles = options.maxArticles ?? Number.POSITIVE_INFINITY;
  const maxSentences = options.maxSentences ?? Number.POSITIVE_INFINITY;
  const log = options.log ?? (() => {});
  const encoder = options.encoder ?? (await loadUseLiteCoreEncoder({ precision: "int8" }));
  const articles: string[] = [];
  const ids: number[][] = [];
  const articleOf: number[] = [];
  let passed = 0;
  let seenSentences = 0;
  for await (const { line, lineNumber } of readLines(options.corpus)) {
    if (line.trim() === "") continue;
    if (articles.length >= maxArticles || ids.length >= maxSentences) break;
    const doc = parseCorpusLine(line, lineNumber, { kind: "paragraph" });
    if (options.includeIds && !options.includeIds.has(doc.id)) continue;
    if (options.excludeIds?.has(doc.id)) continue;
    if (passed++ < skipArticles) continue;
    const a = articles.length;
    articles.push(doc.id);
    for (const paragraph of doc.units)
      for (const text of textUnits(paragraph, unit)) {
        seenSentences++;
        if (ids.length >= maxSentences) break;
        const t = encoder.tokenize(text);
        // tokenize clips at 128 ids (and reads 4,096 characters): a longer text would pass the length filter with
        // the ids of its beginning only. Checked only where it can happen (a second tokenization is not free).
        if ((t.length === USE_LITE_MAX_TOKENS || text.length > USE_LITE_MAX_CHARS) && encoder.truncates(text)) continue;
        if (t.length < minTokens || t.length > maxTokens || t.includes(UNK_ID)) continue;
        ids.push(t);
        articleOf.push(a);
      }
  }
  log(`${ids.length} ${unit}s of ${minTokens}..${maxTokens} tokens (of ${seenSentences} seen) from ${articles.length} articles; embedding`);
  const n = ids.length;
  const dim = encoder.dim;
  const vectors = new Float32Array(n * dim);
  const started = Date.now();
  for (let i = 0; i < n; i += chunk) {
    vectors.set(encoder.embedTokenized(ids.slice(i, i + chunk)), i * dim);
    const done = Math.min(n, i + chunk);
    const seconds = (Date.now() - started) / 1000;
    if ((i / chunk) % 20 === 0 || done === n) log(`embedded ${done}/${n} (${(done / Math.max(seconds, 1e-3)).toFixed(0)} ${unit}s/s)`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + ids[i].length;
  const tokens = new Uint16Array(offsets[n]);
  for (let i = 0; i < n; i++) tokens.set(ids[i], offsets[i]);
  const set: SentenceSet = {
    encoder: USE_LITE_ID,
    dim,
    articles,
    source: {
      corpus: options.corpus,
      unit,
      skipArticles,
      maxArticles: Number.isFinite(maxArticles) ? maxArticles : null,
      maxSentences: Number.isFinite(maxSentences) ? maxSentences : null,
      minTokens,
      maxTokens,
      includeIds: options.includeIds ? options.includeIds.size : null,
      excludeIds: options.excludeIds ? options.excludeIds.size : null,
      embedSeconds: Math.round((Date.now() - started) / 1000),
      encoderPrecision: encoder.precision,
    },
    offsets,
    tokens,
    article: Uint32Array.from(articleOf),
    vectors,
  };
  await writeFileAtomic(options.out, writeSentenceFile(set), { mkdir: true });
  return set;
}

export async function readSentenceSet(path: string): Promise<SentenceSet> {
  const bytes = await readFile(path).catch((error: Error) => {
    throw new Error(`cannot read sentence file ${path}: ${error.message}`);
  });
  return readSentenceFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
