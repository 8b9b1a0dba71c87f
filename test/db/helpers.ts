import type { RequestMetric } from "../../src/db/metrics.ts";

/** A request that ran every stage; totalMs = i, embed 2i, lvm 3i, search 4i. */
export function metric(i: number, over: Partial<RequestMetric> = {}): RequestMetric {
  return {
    ts: Date.now(),
    endpoint: "/v1/predict",
    model: "core-int8",
    k: 5,
    status: 200,
    embedMs: 2 * i,
    lvmMs: 3 * i,
    searchMs: 4 * i,
    totalMs: i,
    runtime: "node",
    backend: "core-int8",
    ...over,
  };
}

/** Shuffled 1..n, so that percentiles cannot come from insertion order. */
export function shuffled(n: number): number[] {
  const values = Array.from({ length: n }, (_, i) => i + 1);
  let seed = 7;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [values[i], values[j]] = [values[j], values[i]];
  }
  return values;
}
