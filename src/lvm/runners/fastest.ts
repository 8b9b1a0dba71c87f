// The startup probe behind `auto`: opens each candidate engine, times them on the same contexts, keeps the fastest
// and says why in one line. A candidate that cannot be opened (onnxruntime-node missing, no GPU session) is
// skipped and named in the reason. Runtime-agnostic.
//
// Timing: one warm-up call each, then rounds that call every candidate once in turn (so a noisy neighbour slows
// them alike) until each has `minCalls` calls and `budgetMs` has passed per batch size, or `maxCalls`; the
// figure is the median call. The choice is by `batch` (the size micro-batching forms under load); batch 1 is
// timed too and reported beside it.
import { oneLine } from "./fallback.ts";
import type { LvmRunner, RunnerShape } from "./types.ts";

export interface Candidate {
  /** What it is called in the reason when it fails to open (the runner's id names it otherwise). */
  name: string;
  open: () => Promise<LvmRunner>;
}

export interface ProbeOptions {
  /** The batch the choice is made at (default 32). */
  batch?: number;
  /** Wall time per batch size spread over all candidates (default 120 ms). */
  budgetMs?: number;
  minCalls?: number;
  maxCalls?: number;
  /** Tests: the median ms of `runner` at `batch` instead of timing it. */
  time?: (runner: LvmRunner, batch: number) => Promise<number> | number;
}

export interface Probed {
  runner: LvmRunner;
  /** One line: the choice against the others, and which could not be opened. */
  reason: string;
  /** runner id -> batch -> median ms. */
  times: Record<string, Record<number, number>>;
  /** name -> why it could not be opened. */
  failed: Record<string, string>;
}

/** Unit rows from a fixed seed (xorshift), so every candidate sees the same input. */
export function probeContexts(batch: number, shape: RunnerShape): Float32Array {
  const out = new Float32Array(batch * shape.context * shape.dim);
  let s = 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 4294967296 - 0.5;
  }
  for (let r = 0; r < batch * shape.context; r++) {
    const row = out.subarray(r * shape.dim, (r + 1) * shape.dim);
    let n = 0;
    for (const x of row) n += x * x;
    const inv = 1 / Math.sqrt(n);
    for (let j = 0; j < row.length; j++) row[j] *= inv;
  }
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function timeAll(runners: LvmRunner[], shape: RunnerShape, batch: number, options: ProbeOptions): Promise<number[]> {
  if (options.time) return Promise.all(runners.map((r) => options.time?.(r, batch) as number));
  const { budgetMs = 120, minCalls = 3, maxCalls = 50 } = options;
  const contexts = probeContexts(batch, shape);
  for (const r of runners) await r.forward(contexts, batch); // warm-up: allocation, first-call compilation
  const times: number[][] = runners.map(() => []);
  const start = performance.now();
  for (let round = 0; round < maxCalls; round++) {
    if (round >= minCalls && performance.now() - start >= budgetMs) break;
    for (const [i, r] of runners.entries()) {
      const t0 = performance.now();
      await r.forward(contexts, batch);
      times[i].push(performance.now() - t0);
    }
  }
  return times.map(median);
}

const ratio = (slow: number, fast: number) => `${(slow / fast).toFixed(1)}x`;

/**
 * Opens the candidates (in order; the last should be one that always opens, the core), times those that opened
 * and returns the fastest at `options.batch`, disposing the others. Throws only when none opens.
 */
export async function probeFastest(candidates: Candidate[], shape: RunnerShape, options: ProbeOptions = {}): Promise<Probed> {
  const batch = options.batch ?? 32;
  const failed: Record<string, string> = {};
  const runners: LvmRunner[] = [];
  for (const c of candidates) {
    try {
      runners.push(await c.open());
    } catch (error) {
      failed[c.name] = oneLine(error);
    }
  }
  const failures = Object.entries(failed).map(([name, why]) => `${name} could not be opened (${why})`);
  if (runners.length === 0) throw new Error(`no engine could be opened: ${failures.join("; ")}`);
  const times: Record<string, Record<number, number>> = {};
  let chosen = 0;
  if (runners.length > 1) {
    const batches = batch === 1 ? [1] : [batch, 1];
    const measured = new Map<number, number[]>();
    try {
      for (const b of batches) measured.set(b, await timeAll(runners, shape, b, options));
    } catch (error) {
      for (const r of runners) r.dispose();
      throw error;
    }
    for (const [i, r] of runners.entries()) times[r.id] = Object.fromEntries(batches.map((b) => [b, measured.get(b)?.[i] as number]));
    const at = measured.get(batch) as number[];
    for (let i = 1; i < runners.length; i++) if (at[i] < at[chosen]) chosen = i;
  }
  const runner = runners[chosen];
  for (const [i, r] of runners.entries()) if (i !== chosen) r.dispose();
  const comparisons = runners
    .filter((_, i) => i !== chosen)
    .map((other) => {
      const mine = times[runner.id];
      const theirs = times[other.id];
      const at1 = batch === 1 ? "" : `, ${ratio(theirs[1], mine[1])} at batch 1`;
      return `${ratio(theirs[batch], mine[batch])} ${other.id} at batch ${batch}${at1}`;
    });
  const why = comparisons.length > 0 ? `${comparisons.join("; ")} (startup probe)` : "the only engine that opened";
  return { runner, reason: [`${runner.id}: ${why}`, ...failures].join("; "), times, failed };
}
