import type { ConceptStore } from "../store/concept-store.ts";
import type { ScoredConcept, SearchIndex } from "./types.ts";

/**
 * Top-k stored concepts nearest `query`, never an excluded row. The index is asked to skip them and the
 * hits are filtered again, so an index that ignores `exclude` still cannot return one.
 */
export async function searchExcluding(
  store: ConceptStore,
  index: SearchIndex,
  query: Float32Array,
  k: number,
  excluded: ReadonlySet<number>,
  ef: number | undefined,
): Promise<ScoredConcept[]> {
  const hits = await index.search(query, k + excluded.size, excluded, { ef });
  const results: ScoredConcept[] = [];
  for (let i = 0; i < hits.rows.length && results.length < k; i++) {
    if (!excluded.has(hits.rows[i])) results.push({ ...store.concept(hits.rows[i]), score: hits.scores[i] });
  }
  return results;
}
