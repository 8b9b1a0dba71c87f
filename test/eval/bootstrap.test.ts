import { describe, expect, it } from "vitest";
import { clusteredBootstrap, DEFAULT_BOOTSTRAP, RECALL_KEYS } from "../../src/eval/bootstrap.ts";
import { summarizeRanks } from "../../src/eval/retrieval.ts";

/** `copies` copies of a pattern of articles: windows' article ids and ranks. */
function articles(pattern: number[][], copies = 1): { clusters: Int32Array; ranks: Int32Array } {
  const clusters: number[] = [];
  const ranks: number[] = [];
  for (let c = 0; c < copies; c++)
    pattern.forEach((windowRanks, a) => {
      for (const r of windowRanks) {
        clusters.push(c * pattern.length + a);
        ranks.push(r);
      }
    });
  return { clusters: Int32Array.from(clusters), ranks: Int32Array.from(ranks) };
}

const width = ([lo, hi]: [number, number]) => hi - lo;

describe("article-clustered bootstrap", () => {
  it("resamples articles, not windows: 9 hits in one article and 1 miss in another give R@1 0 to 100", () => {
    // Draws of 2 articles: {A, A} 100%, {A, B} 90%, {B, B} 0% (probabilities 1/4, 1/2, 1/4). A window-level
    // bootstrap would give about 70 to 100.
    const { clusters, ranks } = articles([[1, 1, 1, 1, 1, 1, 1, 1, 1], [100]]);
    const { predictors, articles: n } = clusteredBootstrap(clusters, { m: ranks });
    expect(n).toBe(2);
    expect(predictors.m["r@1"]).toEqual([0, 100]);
    expect(predictors.m.mrr).toEqual([0.01, 1]);
  });

  it("covers 95%: 400 one-window articles, half of them hits, give about 50 +- 1.96 x 2.5 points", () => {
    const { clusters, ranks } = articles([[1], [50]], 200);
    const [lo, hi] = clusteredBootstrap(clusters, { m: ranks }).predictors.m["r@1"];
    expect(lo).toBeGreaterThan(44.5);
    expect(lo).toBeLessThan(46.5);
    expect(hi).toBeGreaterThan(53.5);
    expect(hi).toBeLessThan(55.5);
  });

  it("intervals contain the point estimate and shrink with more articles", () => {
    const pattern = [
      [1, 3, 7],
      [2, 30],
      [1, 1, 12, 4],
      [25, 6],
      [1, 2, 9, 11, 40],
    ];
    const small = articles(pattern, 4);
    const large = articles(pattern, 40);
    const a = clusteredBootstrap(small.clusters, { m: small.ranks }).predictors.m;
    const b = clusteredBootstrap(large.clusters, { m: large.ranks }).predictors.m;
    const point = summarizeRanks(small.ranks); // the same for both: the pattern repeated
    for (const key of RECALL_KEYS) {
      expect(summarizeRanks(large.ranks)[key]).toBeCloseTo(point[key], 9);
      for (const i of [a[key], b[key]]) {
        expect(i[0]).toBeLessThanOrEqual(point[key] + 1e-9);
        expect(i[1]).toBeGreaterThanOrEqual(point[key] - 1e-9);
      }
      expect(width(b[key])).toBeLessThan(width(a[key]));
      expect(width(b[key])).toBeGreaterThan(0);
    }
  });

  it("the paired difference of identical predictors is exactly [0, 0]; of a better one, above 0", () => {
    const { clusters, ranks } = articles([[1, 8], [3, 30, 2], [15, 1], [6]], 10);
    const better = ranks.map((r) => Math.max(1, r - 5));
    const { differences, predictors } = clusteredBootstrap(
      clusters,
      { a: ranks, b: Int32Array.from(ranks), c: better },
      { same: ["a", "b"], gain: ["c", "a"] },
    );
    for (const key of RECALL_KEYS) expect(differences.same[key]).toEqual([0, 0]);
    expect(differences.gain["r@5"][0]).toBeGreaterThan(0);
    expect(differences.gain.mrr[0]).toBeGreaterThan(0);
    // Paired is tighter than the two separate intervals suggest.
    expect(width(differences.gain["r@5"])).toBeLessThan(width(predictors.a["r@5"]) + width(predictors.c["r@5"]));
  });

  it("is fixed by its seed and uses the settings it is given", () => {
    const { clusters, ranks } = articles([[1, 8], [3, 30, 2], [15, 1], [6]], 3);
    const one = clusteredBootstrap(clusters, { m: ranks });
    expect(clusteredBootstrap(clusters, { m: ranks })).toEqual(one);
    expect(DEFAULT_BOOTSTRAP).toEqual({ resamples: 1000, seed: 1, level: 0.95 });
    const other = clusteredBootstrap(clusters, { m: ranks }, {}, { ...DEFAULT_BOOTSTRAP, seed: 2 });
    expect(other).not.toEqual(one);
    const narrow = clusteredBootstrap(clusters, { m: ranks }, {}, { ...DEFAULT_BOOTSTRAP, level: 0.5 });
    expect(width(narrow.predictors.m["r@5"])).toBeLessThan(width(one.predictors.m["r@5"]));
  });

  it("refuses ranks that do not match the windows and differences of unknown predictors", () => {
    expect(() => clusteredBootstrap(Int32Array.of(0, 1), { m: Int32Array.of(1) })).toThrow(/m has 1 ranks for 2 windows/);
    expect(() => clusteredBootstrap(Int32Array.of(0), { m: Int32Array.of(1) }, { d: ["m", "x"] })).toThrow(/unknown predictor/);
  });
});
