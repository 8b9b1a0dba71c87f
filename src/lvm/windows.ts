// Training windows (5 consecutive concepts of one document -> the 6th) and the article-disjoint split.
import { fnv1a } from "../math/fnv1a.ts";
import type { SplitRecord } from "./model-format.ts";
import { createRng, shuffle } from "./rng.ts";

/** The part of a concept store the data pipeline needs. */
export interface WindowSource {
  dim: number;
  vectors: Float32Array;
  documents: { id: string; first: number; count: number }[];
}

/**
 * Windows of the given documents, each named by its target row: the context is rows target-context ..
 * target-1, all in the same document as the target (a window never crosses a document boundary).
 */
export function windowTargets(source: WindowSource, documentIndices: Iterable<number>, context: number): Int32Array {
  const targets: number[] = [];
  for (const d of documentIndices) {
    const doc = source.documents[d];
    for (let t = doc.first + context; t < doc.first + doc.count; t++) targets.push(t);
  }
  return Int32Array.from(targets);
}

/** Contexts [n, context, dim] of the windows ending before targets[from..to). */
export function gatherContexts(source: WindowSource, targets: Int32Array, context: number, from = 0, to = targets.length): Float32Array {
  const dim = source.dim;
  const out = new Float32Array((to - from) * context * dim);
  for (let i = from; i < to; i++) {
    const start = (targets[i] - context) * dim;
    out.set(source.vectors.subarray(start, start + context * dim), (i - from) * context * dim);
  }
  return out;
}

/** At most `max` window targets, evenly spread over `targets` (max 0 = all). */
export function evenSample(targets: Int32Array, max: number): Int32Array {
  if (max <= 0 || targets.length <= max) return targets;
  return Int32Array.from({ length: max }, (_, i) => targets[Math.floor((i * targets.length) / max)]);
}

/**
 * Predictions [n, dim] for the windows ending before `targets`, through `predict` (contexts [batch, context,
 * dim] -> [batch, dim]) in chunks of `chunk` windows, so the gathered contexts stay small.
 */
export function predictWindows(
  source: WindowSource,
  targets: Int32Array,
  context: number,
  predict: (contexts: Float32Array, batch: number) => Float32Array,
  chunk = 512,
): Float32Array {
  const dim = source.dim;
  const out = new Float32Array(targets.length * dim);
  for (let from = 0; from < targets.length; from += chunk) {
    const to = Math.min(targets.length, from + chunk);
    out.set(predict(gatherContexts(source, targets, context, from, to), to - from), from * dim);
  }
  return out;
}

export interface Split {
  train: number[];
  val: number[];
  test: number[];
}

export const DEFAULT_FRACTIONS: [number, number, number] = [0.8, 0.1, 0.1];

/** Article-disjoint split of document indices by a seeded permutation (80/10/10 by default). */
export function splitDocuments(documentCount: number, seed: number, fractions = DEFAULT_FRACTIONS): Split {
  const order = Array.from({ length: documentCount }, (_, i) => i);
  shuffle(order, createRng(seed));
  const nTrain = Math.round(fractions[0] * documentCount);
  const nVal = Math.round(fractions[1] * documentCount);
  const sorted = (a: number[]) => a.sort((x, y) => x - y);
  return {
    train: sorted(order.slice(0, nTrain)),
    val: sorted(order.slice(nTrain, nTrain + nVal)),
    test: sorted(order.slice(nTrain + nVal)),
  };
}

/** FNV-1a of the document ids in store order, one per line: a store that gained, lost or reordered documents differs. */
export function documentsFingerprint(source: Pick<WindowSource, "documents">): number {
  return fnv1a(new TextEncoder().encode(source.documents.map((d) => d.id).join("\n")));
}

export function splitRecord(source: WindowSource, split: Split, seed: number, fractions = DEFAULT_FRACTIONS): SplitRecord {
  const ids = (list: number[]) => list.map((d) => source.documents[d].id);
  return {
    seed,
    fractions,
    storeDocuments: source.documents.length,
    documentsFnv1a: documentsFingerprint(source),
    train: ids(split.train),
    val: ids(split.val),
    test: ids(split.test),
  };
}

/**
 * Why `source` is not the store `record` was split from (null when it is): another document count, or
 * (where the record has one) another fingerprint of the document ids. A split recomputed from a changed store
 * is another split, and recall against a changed store is against other candidates.
 */
export function storeChangeSinceSplit(source: Pick<WindowSource, "documents">, record: SplitRecord): string | null {
  const n = source.documents.length;
  if (n !== record.storeDocuments) return `the split was made from ${record.storeDocuments} documents, the store now holds ${n}`;
  if (record.documentsFnv1a !== undefined) {
    const now = documentsFingerprint(source);
    if (now !== record.documentsFnv1a)
      return `the store's document ids differ from those the split was made from (fingerprint ${now}, split ${record.documentsFnv1a})`;
  }
  return null;
}

/**
 * The documents of `source` to evaluate on for a saved split. On the training store: the recorded test (or
 * val) documents. On another store: every document the model was neither trained nor tuned on.
 */
export function documentsForEvaluation(
  source: WindowSource,
  record: SplitRecord,
  part: "test" | "val",
): { documents: number[]; sameStore: boolean } {
  const wanted = new Set(record[part]);
  const documents: number[] = [];
  source.documents.forEach((d, i) => {
    if (wanted.has(d.id)) documents.push(i);
  });
  if (documents.length > 0) return { documents, sameStore: true };
  const seen = new Set([...record.train, ...record.val, ...record.test, ...(record.extraTrain ?? [])]);
  const unseen: number[] = [];
  source.documents.forEach((d, i) => {
    if (!seen.has(d.id)) unseen.push(i);
  });
  return { documents: unseen, sameStore: false };
}
