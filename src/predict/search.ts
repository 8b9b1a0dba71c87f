import { embedTexts } from "./embed-texts.ts";
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

/** The top-k stored concepts nearest a text (embedded, or a stored concept's own vector) or a vector (normalised). */
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
    // A stored concept's text takes its stored vector (embeds nothing).
    const embedded = await embedTexts(deps, [request.text ?? ""], () => "text");
    query = embedded.vectors;
    log.embedMs = embedded.embedMs;
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

/**
 * /v1/embed: one unit vector per text; a text equal to a stored concept's text gets the stored vector (nothing
 * embedded). The encoder's id and dim come from the store (the encoder it was built with).
 */
export async function embedRequestTexts(
  deps: PredictDeps,
  texts: readonly string[],
  log: StageLog = {},
): Promise<{ encoder: string; dim: number; vectors: Float32Array; timings: { embedMs?: number } }> {
  const embedded = await embedTexts(deps, texts, (i) => `texts.${i}`);
  log.embedMs = embedded.embedMs;
  return { encoder: deps.store.encoder.id, dim: deps.store.dim, vectors: embedded.vectors, timings: { embedMs: embedded.embedMs } };
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
