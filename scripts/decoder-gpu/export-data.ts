// Packs what the GPU decoder trainer (train_decoder.py, beside this file) needs into one folder small enough to
// travel to a GPU machine (64 MiB): the decoder's training sentences as token ids only (the GPU re-embeds them
// with USE-lite, so 512 floats per sentence never travel), the validation sentences with their core INT8
// vectors (the trainer checks its own USE-lite against them), and USE-lite's weights in float16.
//
// Items follow `lvm decoder-data`'s rule exactly (--unit sentence, the default, or paragraph: 4..128 tokens) (src/decoder/text.ts, src/decoder/dataset-node.ts):
// Intl.Segmenter sentences of 4..32 USE-lite tokens with no unknown piece. Articles are taken in file order and
// are article-disjoint from the decoder's validation (the first 60 articles of the dev tier past dev1k) and
// test (dev1k) files by construction: --skip-articles drops the validation ones, and dev1k is not read.
//
// Layout of <out>/ (all little-endian; sizes in meta.json):
//   meta.json                    counts, sources, tensor table of use-lite.f16
//   train-lengths.u8.gz          [n] token count of each training sentence (4..32)
//   train-tokens.u16.gz          [sum of lengths] token ids, sentence after sentence
//   val-lengths.u8.gz, val-tokens.u16.gz   the same for the validation sentence file (--val)
//   val-vectors.f32.gz           [min(n, 1024), 512] its first vectors (core INT8 USE-lite), for the check
//   use-lite.f16                 USE-lite tensors (float16) in meta.json's order
//
// Usage: node scripts/decoder-gpu/export-data.ts --out .gpu --val /work/data/decoder/val.sent \
//   --corpus /work/data/wiki-dev-rest.jsonl.gz:60 --corpus ../shared/data/wiki/wiki-large.jsonl.gz:0
//   (corpus:N skips its first N articles)
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { DEFAULT_MAX_TOKENS, readSentenceSet, type TextUnit, textUnits } from "../../src/decoder/dataset-node.ts";
import { UNK_ID } from "../../src/decoder/text.ts";
import { UnigramTokenizer } from "../../src/encoders/unigram-tokenizer.ts";
import { readUseLiteAssets } from "../../src/encoders/use-lite-assets-node.ts";
import { USE_LITE_MAX_CHARS } from "../../src/encoders/use-lite-core.ts";
import { readUseLiteWeights } from "../../src/encoders/use-lite-weights.ts";
import { parseCorpusLine } from "../../src/ingest/corpus.ts";
import { readLines } from "../../src/ingest/read-lines.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    val: { type: "string" },
    corpus: { type: "string", multiple: true },
    "max-sentences": { type: "string" },
    "min-tokens": { type: "string", default: "4" },
    "max-tokens": { type: "string" },
    unit: { type: "string", default: "sentence" },
  },
});
if (!values.out || !values.val || !values.corpus?.length) throw new Error("usage: --out DIR --val FILE.sent --corpus PATH[:SKIP] ...");
const out = values.out;
const minTokens = Number(values["min-tokens"]);
const unit = values.unit as TextUnit;
if (unit !== "sentence" && unit !== "paragraph") throw new Error(`--unit: expected sentence or paragraph, got ${unit}`);
const maxTokens = values["max-tokens"] ? Number(values["max-tokens"]) : DEFAULT_MAX_TOKENS[unit];
const maxSentences = values["max-sentences"] ? Number(values["max-sentences"]) : Number.POSITIVE_INFINITY;
await mkdir(out, { recursive: true });

const assets = await readUseLiteAssets();
const tokenizer = new UnigramTokenizer(assets.vocabulary);

// Training sentences, token ids only.
const lengths: number[] = [];
const tokens: number[] = [];
const sources: { corpus: string; skipArticles: number; articles: number; sentences: number; seen: number }[] = [];
const started = Date.now();
for (const spec of values.corpus) {
  const at = spec.lastIndexOf(":");
  const corpus = at > 0 ? spec.slice(0, at) : spec;
  const skip = at > 0 ? Number(spec.slice(at + 1)) : 0;
  const source = { corpus, skipArticles: skip, articles: 0, sentences: 0, seen: 0 };
  sources.push(source);
  let passed = 0;
  for await (const { line, lineNumber } of readLines(corpus)) {
    if (line.trim() === "" || lengths.length >= maxSentences) continue;
    if (passed++ < skip) continue;
    const doc = parseCorpusLine(line, lineNumber, { kind: "paragraph" });
    source.articles++;
    for (const paragraph of doc.units)
      for (const text of textUnits(paragraph, unit)) {
        source.seen++;
        if (text.length > USE_LITE_MAX_CHARS) continue;
        const ids = tokenizer.encode(text);
        if (ids.length < minTokens || ids.length > maxTokens || ids.includes(UNK_ID)) continue;
        lengths.push(ids.length);
        for (const id of ids) tokens.push(id);
        source.sentences++;
      }
    if (source.articles % 500 === 0)
      console.log(`${corpus}: ${source.articles} articles, ${lengths.length} sentences, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}
await writeFile(join(out, "train-lengths.u8.gz"), gzipSync(Uint8Array.from(lengths)));
await writeFile(join(out, "train-tokens.u16.gz"), gzipSync(new Uint8Array(Uint16Array.from(tokens).buffer)));

// Validation sentences: ids and (the first 1,024) vectors from the decoder's validation file.
const val = await readSentenceSet(values.val);
const valCount = val.offsets.length - 1;
const valLengths = new Uint8Array(valCount);
for (let i = 0; i < valCount; i++) valLengths[i] = val.offsets[i + 1] - val.offsets[i];
const checked = Math.min(valCount, 1024);
await writeFile(join(out, "val-lengths.u8.gz"), gzipSync(valLengths));
await writeFile(join(out, "val-tokens.u16.gz"), gzipSync(new Uint8Array(val.tokens.slice().buffer)));
await writeFile(join(out, "val-vectors.f32.gz"), gzipSync(new Uint8Array(val.vectors.slice(0, checked * val.dim).buffer)));

// USE-lite in float16 (use-lite-weights.ts names the tensors; the trainer computes in float32).
const w = readUseLiteWeights(assets);
const named: [string, Float32Array, number[]][] = [
  ["embeddings", w.embeddings, [w.embeddings.length / 256, 256]],
  ["invTimescales", w.invTimescales, [w.invTimescales.length]],
  ["tanhW", w.tanhW, [512, 512]],
  ["tanhB", w.tanhB, [512]],
];
w.layers.forEach((layer, l) => {
  const width = layer.width;
  const add = (name: string, data: Float32Array, shape: number[]) => named.push([`layers.${l}.${name}`, data, shape]);
  add("ln1Scale", layer.ln1Scale, [width]);
  add("ln1Bias", layer.ln1Bias, [width]);
  if (layer.residual) {
    add("residualW", layer.residual.w, [width, 512]);
    add("residualB", layer.residual.b, [512]);
  }
  add("qkvW", layer.qkvW, [width, 3 * width]);
  add("qkvB", layer.qkvB, [3 * width]);
  add("outW", layer.outW, [width, 512]);
  add("outB", layer.outB, [512]);
  add("ln2Scale", layer.ln2Scale, [512]);
  add("ln2Bias", layer.ln2Bias, [512]);
  add("ffn1W", layer.ffn1W, [512, 1536]);
  add("ffn1B", layer.ffn1B, [1536]);
  add("ffn2W", layer.ffn2W, [1536, 512]);
  add("ffn2B", layer.ffn2B, [512]);
});
const total = named.reduce((n, [, d]) => n + d.length, 0);
const f16 = new Float16Array(total);
const tensors: { name: string; shape: number[]; offset: number }[] = [];
let offset = 0;
for (const [name, data, shape] of named) {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`${name}: shape [${shape}] does not hold ${data.length} values`);
  f16.set(data, offset);
  tensors.push({ name, shape, offset });
  offset += data.length;
}
await writeFile(join(out, "use-lite.f16"), new Uint8Array(f16.buffer));

const meta = {
  rule: { unit, minTokens, maxTokens, noUnknown: true },
  train: { sentences: lengths.length, tokens: tokens.length, sources },
  val: { file: values.val, sentences: valCount, tokens: val.tokens.length, vectors: checked, articles: val.articles.length },
  useLite: { dtype: "float16", values: total, tensors },
  seconds: Math.round((Date.now() - started) / 1000),
};
await writeFile(join(out, "meta.json"), `${JSON.stringify(meta, null, 1)}\n`);
console.log(JSON.stringify({ ...meta, useLite: { values: total } }));
