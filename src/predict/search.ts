import { RequestError } from "./errors.ts";
import { pickIndex } from "./pick.ts";
import type { PredictDeps, ScoredConcept, StageLog } from "./types.ts";
import { decodeVectorB64, type VectorB64 } from "./vector-b64.ts";

export interface SearchRequest {
  /** Exactly one of text and vector. */
  text?: string;
  vector?: number[] | VectorB64;
  k: number;
  exact?: boolean;
  ef?: number;
}

export interface SearchResult {
  index: string;
  results: ScoredConcept[];
  timings: { embedMs?: number; searchMs: number };
}

/** The top-k stored concepts nearest a text (embedded) or a vector (normalised). */
export async function searchConcepts(deps: PredictDeps, request: SearchRequest, log: StageLog = {}): Promise<SearchResult> {
  const { store } = deps;
  log.k = request.k;
  let query: Float32Array;
  if (request.vector) {
    const { vector } = request;
    query = Array.isArray(vector)
      ? unitVector(vector, store.dim, "vector")
      : unitVector(decodeVectorB64(vector.b64, store.dim, "vector.b64"), store.dim, "vector.b64");
  } else {
    if (!deps.encoder) throw new RequestError(400, "text_unsupported", "this deployment has no text encoder: send vectors", "text");
    const encoder = await deps.encoder();
    const started = performance.now();
    query = await encoder.embed([request.text ?? ""]);
    log.embedMs = performance.now() - started;
  }
  const index = pickIndex(deps, request.exact);
  const started = performance.now();
  const hits = await index.search(query, request.k, undefined, { ef: request.ef });
  const searchMs = performance.now() - started;
  log.searchMs = searchMs;
  log.backend = index.kind;
  const results = Array.from(hits.rows, (row, i) => ({ ...store.concept(row), score: hits.scores[i] }));
  return { index: index.kind, results, timings: { embedMs: log.embedMs, searchMs } };
}

/** `values` scaled to unit length; a wrong length or a zero vector is an error naming `field`. */
export function unitVector(values: ArrayLike<number>, dim: number, field: string): Float32Array {
  if (values.length !== dim)
    throw new RequestError(400, "wrong_dim", `vector has ${values.length} values; the store and model use dim ${dim}`, field);
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += values[j] * values[j];
  if (norm === 0) throw new RequestError(400, "zero_vector", "vector is all zeros", field);
  const inv = 1 / Math.sqrt(norm);
  return Float32Array.from(values, (v) => v * inv);
}
