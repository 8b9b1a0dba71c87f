/**
 * Text similarity of generated and true sentences (runtime-agnostic), on token sequences of either kind:
 *   words   wordTokens(): \w+ runs and single punctuation marks, case kept (close to sacrebleu's 13a tokenizer)
 *   pieces  the USE-lite SentencePiece ids
 *
 * corpusBleu: BLEU-4 over the corpus (clipped n-gram matches and hypothesis n-grams summed over all sentences,
 * n = 1..4, uniform weights, brevity penalty on total lengths), x100. Smoothing: Chen & Cherry (2014) method 1,
 * a precision with no match counts 0.1 matches instead of 0.
 * tokenF1: per sentence, F1 of the clipped bag-of-tokens overlap; the mean over sentences, x100.
 */

export function wordTokens(text: string): string[] {
  return text.match(/\w+|[^\w\s]/gu) ?? [];
}

function ngramCounts<T>(tokens: readonly T[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join("\u0001");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export function corpusBleu<T>(hypotheses: readonly (readonly T[])[], references: readonly (readonly T[])[]): number {
  if (hypotheses.length !== references.length) throw new Error(`${hypotheses.length} hypotheses for ${references.length} references`);
  const matches = [0, 0, 0, 0];
  const totals = [0, 0, 0, 0];
  let hypLength = 0;
  let refLength = 0;
  for (let s = 0; s < hypotheses.length; s++) {
    hypLength += hypotheses[s].length;
    refLength += references[s].length;
    for (let n = 1; n <= 4; n++) {
      const h = ngramCounts(hypotheses[s], n);
      const r = ngramCounts(references[s], n);
      for (const [key, count] of h) {
        matches[n - 1] += Math.min(count, r.get(key) ?? 0);
        totals[n - 1] += count;
      }
    }
  }
  if (hypLength === 0) return 0;
  let logSum = 0;
  for (let n = 0; n < 4; n++) {
    if (totals[n] === 0) return 0;
    logSum += Math.log((matches[n] === 0 ? 0.1 : matches[n]) / totals[n]);
  }
  const brevity = hypLength < refLength ? Math.exp(1 - refLength / hypLength) : 1;
  return 100 * brevity * Math.exp(logSum / 4);
}

export function tokenF1<T>(hypothesis: readonly T[], reference: readonly T[]): number {
  const counts = new Map<T, number>();
  for (const t of reference) counts.set(t, (counts.get(t) ?? 0) + 1);
  let overlap = 0;
  for (const t of hypothesis) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      overlap++;
      counts.set(t, c - 1);
    }
  }
  if (overlap === 0) return 0;
  const precision = overlap / hypothesis.length;
  const recall = overlap / reference.length;
  return (100 * 2 * precision * recall) / (precision + recall);
}
