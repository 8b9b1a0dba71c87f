import { exactSearch, type SearchHits } from "./exact.ts";

/** Anything that answers top-k by cosine over a store's unit vectors. */
export interface VectorIndex {
  /** "exact-core", "exact-ts", "hnsw-core", ... (reported in responses and metrics). */
  readonly kind: string;
  /** `options.ef`: the beam width of an approximate index (ignored by exact ones). */
  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>, options?: { ef?: number }): SearchHits;
}

/** The plain TypeScript reference as an index (used where the WASM core is not loaded). */
export function referenceIndex(vectors: Float32Array, dim: number): VectorIndex {
  return { kind: "exact-ts", search: (query, k, exclude) => exactSearch(vectors, dim, query, k, exclude) };
}
