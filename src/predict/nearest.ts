import { type HubnessPenalty, penalisedSearch } from "../index/hubness.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { isContextRow, type ResolvedContext } from "./context.ts";
import type { ScoredConcept, SearchIndex } from "./types.ts";

/**
 * Top-k stored concepts nearest `query` that are neither context concepts nor in `used`. The index is asked
 * to skip the known rows and the hits are filtered again (an index that ignores `exclude` still cannot
 * return one); vector items can match at most one row each that the index does not know to skip, so that
 * many more hits are asked for. With `penalty` (the model's hubness penalty), hits are ranked by
 * cosine - weight * hub (scores stay cosines).
 */
export async function searchExcluding(
  store: ConceptStore,
  index: SearchIndex,
  query: Float32Array,
  k: number,
  context: Pick<ResolvedContext, "rows" | "vectorItems">,
  used: ReadonlySet<number>,
  ef: number | undefined,
  penalty?: HubnessPenalty,
): Promise<ScoredConcept[]> {
  const excluded = used.size === 0 ? context.rows : new Set([...context.rows, ...used]);
  const wanted = k + excluded.size + context.vectorItems.length;
  const hits = penalty
    ? await penalisedSearch(index, store.count, query, wanted, penalty, excluded, ef, index.kind.startsWith("exact"))
    : await index.search(query, wanted, excluded, { ef });
  const results: ScoredConcept[] = [];
  for (let i = 0; i < hits.rows.length && results.length < k; i++) {
    const row = hits.rows[i];
    if (excluded.has(row) || isContextRow(store, context, row)) continue;
    const rankScore = hits.rankScores?.[i];
    results.push({ ...store.concept(row), score: hits.scores[i], ...(rankScore === undefined ? {} : { rankScore }) });
  }
  return results;
}
