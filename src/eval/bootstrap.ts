// Article-clustered bootstrap: 95% intervals for R@k and MRR, and for paired differences between predictors.
// Windows of one article are not independent (same topic, overlapping contexts), so the unit resampled is the
// article: each resample draws as many articles as the test split has, with replacement, and takes every
// window of each drawn article. A paired difference uses the same drawn articles for both predictors.
import { createRng } from "../lvm/rng.ts";

export const RECALL_KEYS = ["r@1", "r@5", "r@10", "r@20", "mrr"] as const;
export type RecallKey = (typeof RECALL_KEYS)[number];
/** [low, high] of a 95% percentile interval; recall in percent, MRR a fraction (as in RecallSummary). */
export type Interval = [number, number];
export type RecallIntervals = Record<RecallKey, Interval>;

export interface BootstrapSettings {
  resamples: number;
  seed: number;
  /** Coverage of the percentile interval. */
  level: number;
}

export const DEFAULT_BOOTSTRAP: BootstrapSettings = { resamples: 1000, seed: 1, level: 0.95 };

/** Per article: windows, and for each metric the sum over its windows (hits at k, reciprocal ranks). */
interface ClusterSums {
  count: Float64Array;
  sums: Float64Array[]; // [metric][article]
}

function clusterSums(clusters: Int32Array, articles: number, ranks: Int32Array): ClusterSums {
  const count = new Float64Array(articles);
  const sums = RECALL_KEYS.map(() => new Float64Array(articles));
  for (let i = 0; i < ranks.length; i++) {
    const a = clusters[i];
    const r = ranks[i];
    count[a]++;
    sums[0][a] += r <= 1 ? 1 : 0;
    sums[1][a] += r <= 5 ? 1 : 0;
    sums[2][a] += r <= 10 ? 1 : 0;
    sums[3][a] += r <= 20 ? 1 : 0;
    sums[4][a] += 1 / r;
  }
  return { count, sums };
}

/** Metric k of a predictor over the drawn articles (recall in percent, MRR a fraction). */
function metricOf(c: ClusterSums, k: number, drawn: Int32Array): number {
  let n = 0;
  let s = 0;
  for (const a of drawn) {
    n += c.count[a];
    s += c.sums[k][a];
  }
  if (n === 0) return 0;
  return k === 4 ? s / n : (100 * s) / n;
}

/** The percentile interval of `values` (sorted in place). */
function percentile(values: Float64Array, level: number): Interval {
  values.sort();
  const lo = Math.floor(((1 - level) / 2) * (values.length - 1));
  const hi = Math.ceil(((1 + level) / 2) * (values.length - 1));
  return [values[lo], values[hi]];
}

/**
 * Intervals for each predictor's R@k and MRR, and for the paired differences `a - b` (by predictor name).
 * `clusters[i]` is the article of window i (any integer id); `ranks[name][i]` the rank of window i's target.
 * The articles drawn in each resample are the same for every predictor and difference.
 */
export function clusteredBootstrap(
  clusters: Int32Array,
  ranks: Record<string, Int32Array>,
  differences: Record<string, [string, string]> = {},
  settings: BootstrapSettings = DEFAULT_BOOTSTRAP,
): { predictors: Record<string, RecallIntervals>; differences: Record<string, RecallIntervals>; articles: number } {
  const ids = new Map<number, number>();
  const dense = Int32Array.from(clusters, (c) => {
    if (!ids.has(c)) ids.set(c, ids.size);
    return ids.get(c) as number;
  });
  const articles = ids.size;
  const sums: Record<string, ClusterSums> = {};
  for (const [name, r] of Object.entries(ranks)) {
    if (r.length !== clusters.length) throw new Error(`bootstrap: ${name} has ${r.length} ranks for ${clusters.length} windows`);
    sums[name] = clusterSums(dense, articles, r);
  }
  for (const [name, [a, b]] of Object.entries(differences))
    if (!sums[a] || !sums[b]) throw new Error(`bootstrap: difference ${name} names an unknown predictor (${a} - ${b})`);
  const { resamples, level } = settings;
  const rng = createRng(settings.seed);
  const samples: Record<string, Float64Array[]> = {};
  for (const name of [...Object.keys(sums), ...Object.keys(differences).map((d) => `\0${d}`)])
    samples[name] = RECALL_KEYS.map(() => new Float64Array(resamples));
  const drawn = new Int32Array(articles);
  for (let s = 0; s < resamples; s++) {
    for (let i = 0; i < articles; i++) drawn[i] = rng.int(articles);
    for (let k = 0; k < RECALL_KEYS.length; k++) {
      const values: Record<string, number> = {};
      for (const name of Object.keys(sums)) {
        values[name] = metricOf(sums[name], k, drawn);
        samples[name][k][s] = values[name];
      }
      for (const [name, [a, b]] of Object.entries(differences)) samples[`\0${name}`][k][s] = values[a] - values[b];
    }
  }
  const intervals = (name: string) =>
    Object.fromEntries(RECALL_KEYS.map((key, k) => [key, percentile(samples[name][k], level)])) as RecallIntervals;
  return {
    predictors: Object.fromEntries(Object.keys(sums).map((n) => [n, intervals(n)])),
    differences: Object.fromEntries(Object.keys(differences).map((d) => [d, intervals(`\0${d}`)])),
    articles,
  };
}
