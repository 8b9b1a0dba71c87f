// The data one training run reads: the main store (split 80/10/10 by article; its validation and test
// articles are the benchmark) and optional extra stores whose every article is training data. The extra
// stores' documents are appended after the main store's, so document and row indices of the main store are
// the same in the combined source and the main store's split and retrieval index are unchanged.
import type { ExtraStoreRecord } from "../lvm/model-format.ts";
import { documentsFingerprint, type WindowSource } from "../lvm/windows.ts";

/** A WindowSource with its row count (what trainRows, buildBatch and validate read). */
export interface TrainingSource extends WindowSource {
  count: number;
}

export interface CombinedSource {
  source: TrainingSource;
  /** Rows [0, mainCount) and documents [0, mainDocuments) are the main store's. */
  mainCount: number;
  mainDocuments: number;
  /** Indices (in source.documents) of the extra stores' documents: all training data. */
  extraDocuments: number[];
  extras: ExtraStoreRecord[];
}

/**
 * Appends `extras` (path, store) to `main`. Refuses another dimension or encoder, and any document id that
 * occurs twice (an extra store sharing an article with the main store would leak validation or test
 * articles into training).
 */
export function combineSources(
  main: TrainingSource & { encoder: { id: string } },
  extras: { path: string; store: TrainingSource & { encoder: { id: string } } }[],
): CombinedSource {
  const extraRecords: ExtraStoreRecord[] = [];
  if (extras.length === 0)
    return { source: main, mainCount: main.count, mainDocuments: main.documents.length, extraDocuments: [], extras: extraRecords };
  const owner = new Map<string, string>();
  for (const d of main.documents) owner.set(d.id, "the main store");
  let count = main.count;
  for (const { path, store } of extras) {
    if (store.dim !== main.dim) throw new Error(`extra store ${path}: vectors are ${store.dim}-D, the main store's ${main.dim}-D`);
    if (store.encoder.id !== main.encoder.id)
      throw new Error(`extra store ${path}: encoder ${store.encoder.id}, the main store's ${main.encoder.id}`);
    for (const d of store.documents) {
      const seen = owner.get(d.id);
      if (seen !== undefined)
        throw new Error(`extra store ${path}: document ${JSON.stringify(d.id)} is also in ${seen}; the stores must share no article`);
      owner.set(d.id, path);
    }
    extraRecords.push({ store: path, documents: store.documents.length, count: store.count, documentsFnv1a: documentsFingerprint(store) });
    count += store.count;
  }
  const dim = main.dim;
  const vectors = new Float32Array(count * dim);
  vectors.set(main.vectors.subarray(0, main.count * dim));
  const documents = main.documents.map((d) => ({ id: d.id, first: d.first, count: d.count }));
  const extraDocuments: number[] = [];
  let offset = main.count;
  for (const { store } of extras) {
    vectors.set(store.vectors.subarray(0, store.count * dim), offset * dim);
    for (const d of store.documents) {
      extraDocuments.push(documents.length);
      documents.push({ id: d.id, first: offset + d.first, count: d.count });
    }
    offset += store.count;
  }
  return {
    source: { dim, count, vectors, documents },
    mainCount: main.count,
    mainDocuments: main.documents.length,
    extraDocuments,
    extras: extraRecords,
  };
}

/** Why the extra stores now differ from those recorded when training began (null when they do not). */
export function extraStoresChanged(now: ExtraStoreRecord[], saved: ExtraStoreRecord[]): string | null {
  if (now.length !== saved.length) return `training began with ${saved.length} extra stores, now ${now.length}`;
  for (let i = 0; i < now.length; i++) {
    const [a, b] = [now[i], saved[i]];
    if (a.documents !== b.documents || a.count !== b.count || a.documentsFnv1a !== b.documentsFnv1a)
      return `extra store ${a.store} holds ${a.documents} documents / ${a.count} concepts (fingerprint ${a.documentsFnv1a}), training began with ${b.documents} / ${b.count} (${b.documentsFnv1a})`;
  }
  return null;
}
