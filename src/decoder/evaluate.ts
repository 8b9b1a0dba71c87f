/**
 * `lvm eval-decoder`'s measurements (runtime-agnostic): held-out sentences decoded from their vectors, against
 * retrieval decode in the same run. For each evaluated sentence (evenly spaced over the test set):
 *
 *   retrieval   the nearest stored sentence by cosine (stores: the test set itself and any others given), the true
 *               sentence and every sentence with the same pieces removed from the candidates
 *   greedy      greedy decoding of the vector, no re-ranking
 *   step k      decodeAndRefine's best text after k refinement steps (k = 0: beam search re-ranked by cosine);
 *               a run that stopped earlier keeps its last text
 *
 * Items may be sentences or paragraphs (`lvm decoder-data --unit`); every decode may generate up to
 * `refine.maxTokens` pieces (default generationLimit: the model's length or the test set's longest item).
 *
 * Every text, retrieved ones included, is re-embedded by the same encoder and scored by cosine to the target;
 * BLEU and token F1 against the true text (text-metrics.ts).
 */
import { type SentenceSet, sentenceCount, sentenceIds } from "./dataset-format.ts";
import { greedyDecode } from "./decode.ts";
import { conditioning } from "./model-format.ts";
import { DEFAULT_FEEDBACK, DEFAULT_PATIENCE, DEFAULT_TEMPERATURE, decodeAndRefine, type EmbedTexts, type RefineOptions } from "./refine.ts";
import type { DecoderRunner } from "./runner.ts";
import { detokenize } from "./text.ts";
import { corpusBleu, tokenF1, wordTokens } from "./text-metrics.ts";

export interface EvalRow {
  name: string;
  meanCosine: number;
  /** Corpus BLEU-4 on word tokens and on SentencePiece pieces, x100. */
  bleuWords: number;
  bleuPieces: number;
  /** Mean token F1 on word tokens, x100. */
  f1Words: number;
  exactMatch: number;
  /** Share of sentences whose text is closer (cosine) to the target than retrieval's; null for retrieval. */
  beatsRetrieval: number | null;
  meanWords: number;
}

export interface DecoderEvalReport {
  /** What the test set's items are (its source.unit; files written before --unit hold sentences). */
  unit: "sentence" | "paragraph";
  sentences: number;
  candidates: number;
  options: Required<Pick<RefineOptions, "steps" | "beam" | "samples" | "maxTokens" | "temperature" | "feedback" | "patience">>;
  rows: EvalRow[];
  /** Wall time of decodeAndRefine per sentence, ms (mean, p50). */
  refineMs: { mean: number; p50: number };
  /** Greedy decoding on the runner, one vector at a time: generated pieces per second. */
  greedyTokensPerSecond: number;
  examples: {
    truth: string;
    retrieval: string;
    greedy: string;
    refined: string;
    cosine: { retrieval: number; refined: number };
    steps: number;
  }[];
}

interface Case {
  ids: number[];
  text: string;
  cosine: number;
}

/**
 * Most pieces a decode may generate: the model's training length or the test set's longest item, whichever is
 * more, so a test of paragraphs is not cut at the sentence length by construction. One limit for the whole set:
 * a per-item limit would tell the decoder each true length.
 */
export function generationLimit(modelMaxTokens: number, test: SentenceSet): number {
  let longest = 0;
  for (let i = 0; i < sentenceCount(test); i++) longest = Math.max(longest, test.offsets[i + 1] - test.offsets[i]);
  return Math.max(modelMaxTokens, longest);
}

function cosineAt(vectors: Float32Array, i: number, target: Float32Array): number {
  const dim = target.length;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < dim; j++) {
    dot += vectors[i * dim + j] * target[j];
    na += vectors[i * dim + j] ** 2;
    nb += target[j] ** 2;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/** The nearest candidate (by dot product of unit rows) that is not the query sentence and does not have its pieces. */
function retrieve(stores: SentenceSet[], target: Float32Array, self: { store: number; index: number }, truthKey: string) {
  const dim = target.length;
  let best = { store: -1, index: -1, score: Number.NEGATIVE_INFINITY };
  stores.forEach((s, si) => {
    const n = sentenceCount(s);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      const o = i * dim;
      for (let j = 0; j < dim; j++) dot += s.vectors[o + j] * target[j];
      if (dot <= best.score || (si === self.store && i === self.index)) continue;
      if (sentenceIds(s, i).join(",") === truthKey) continue;
      best = { store: si, index: i, score: dot };
    }
  });
  return best;
}

export async function evaluateDecoder(args: {
  runner: DecoderRunner;
  embed: EmbedTexts;
  /** What refinement ranks candidates with (decodeAndRefine's `rank`; default embed); every cosine reported is embed's. */
  rank?: EmbedTexts;
  pieces: readonly string[];
  test: SentenceSet;
  /** Retrieval candidates besides the test set. */
  extraStores: SentenceSet[];
  sentences: number;
  refine: Required<Pick<RefineOptions, "steps" | "beam" | "samples">> & RefineOptions;
  log?: (line: string) => void;
}): Promise<DecoderEvalReport> {
  const { runner, embed, pieces, test } = args;
  const refine = { ...args.refine, maxTokens: args.refine.maxTokens ?? generationLimit(runner.config.maxTokens, test) };
  const log = args.log ?? (() => {});
  const dim = test.dim;
  const unit = test.source.unit === "paragraph" ? "paragraph" : "sentence";
  const n = sentenceCount(test);
  const count = Math.min(args.sentences, n);
  const picks = Array.from({ length: count }, (_, k) => Math.floor((k * n) / count));
  const stores = [test, ...args.extraStores];
  const truths: Case[] = [];
  const retrieval: Case[] = [];
  const greedy: Case[] = [];
  const steps: Case[][] = Array.from({ length: refine.steps + 1 }, () => []);
  const refineMs: number[] = [];
  let greedyTokens = 0;
  let greedyMs = 0;
  const examples: DecoderEvalReport["examples"] = [];
  for (const [k, i] of picks.entries()) {
    const target = test.vectors.slice(i * dim, (i + 1) * dim);
    const ids = [...sentenceIds(test, i)];
    truths.push({ ids, text: detokenize(pieces, ids), cosine: 1 });
    const r = retrieve(stores, target, { store: 0, index: i }, ids.join(","));
    const rIds = [...sentenceIds(stores[r.store], r.index)];
    const started = performance.now();
    const g = greedyDecode(runner, conditioning(runner.config, target), 1, refine.maxTokens)[0];
    greedyMs += performance.now() - started;
    greedyTokens += g.ids.length + 1;
    const rText = detokenize(pieces, rIds);
    const gText = detokenize(pieces, g.ids);
    const embedded = await embed([rText, gText.length > 0 ? gText : "."]);
    retrieval.push({ ids: rIds, text: rText, cosine: cosineAt(embedded, 0, target) });
    greedy.push({ ids: g.ids, text: gText, cosine: gText.length > 0 ? cosineAt(embedded, 1, target) : 0 });
    const t0 = performance.now();
    const out = await decodeAndRefine(runner, embed, pieces, target, { ...refine, seed: (refine.seed ?? 1) + i }, args.rank);
    refineMs.push(performance.now() - t0);
    for (let s = 0; s <= refine.steps; s++) {
      const h = [...out.history].reverse().find((x) => x.step <= s) ?? out.history[0];
      steps[s].push({ ids: h.ids, text: h.text, cosine: h.cosine });
    }
    if (examples.length < 12 && k % Math.max(1, Math.floor(count / 12)) === 0)
      examples.push({
        truth: truths[k].text,
        retrieval: rText,
        greedy: gText,
        refined: out.text,
        cosine: { retrieval: retrieval[k].cosine, refined: out.cosine },
        steps: out.steps,
      });
    if ((k + 1) % 25 === 0 || k + 1 === count)
      log(
        `${k + 1}/${count}: mean cosine retrieval ${mean(retrieval.map((c) => c.cosine)).toFixed(3)}, refined ${mean(steps[refine.steps].map((c) => c.cosine)).toFixed(3)}`,
      );
  }
  const row = (name: string, cases: Case[], vsRetrieval: boolean): EvalRow => ({
    name,
    meanCosine: mean(cases.map((c) => c.cosine)),
    bleuWords: corpusBleu(
      cases.map((c) => wordTokens(c.text)),
      truths.map((c) => wordTokens(c.text)),
    ),
    bleuPieces: corpusBleu(
      cases.map((c) => c.ids),
      truths.map((c) => c.ids),
    ),
    f1Words: mean(cases.map((c, j) => tokenF1(wordTokens(c.text), wordTokens(truths[j].text)))),
    exactMatch: mean(cases.map((c, j) => (c.text === truths[j].text ? 1 : 0))),
    beatsRetrieval: vsRetrieval ? mean(cases.map((c, j) => (c.cosine > retrieval[j].cosine ? 1 : 0))) : null,
    meanWords: mean(cases.map((c) => wordTokens(c.text).length)),
  });
  const sorted = [...refineMs].sort((a, b) => a - b);
  return {
    unit,
    sentences: count,
    candidates: stores.reduce((a, s) => a + sentenceCount(s), 0) - 1,
    options: {
      steps: refine.steps,
      beam: refine.beam,
      samples: refine.samples,
      maxTokens: refine.maxTokens,
      temperature: refine.temperature ?? DEFAULT_TEMPERATURE,
      feedback: refine.feedback ?? DEFAULT_FEEDBACK,
      patience: refine.patience ?? DEFAULT_PATIENCE,
    },
    rows: [
      row(`retrieval (nearest stored ${unit}, true one removed)`, retrieval, false),
      row("greedy", greedy, true),
      ...steps.map((c, s) => row(s === 0 ? "step 0 (beam, re-ranked by cosine)" : `step ${s} (refined)`, c, true)),
    ],
    refineMs: { mean: mean(refineMs), p50: sorted[Math.floor(sorted.length / 2)] ?? 0 },
    greedyTokensPerSecond: greedyTokens / (greedyMs / 1000),
    examples,
  };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
