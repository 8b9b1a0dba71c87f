// Timing helpers shared by the benchmarks: quantiles and medians of samples, and calls timed in wall-clock
// and process CPU time (CPU time is robust to time-slicing by other processes on the shared cores).

/** The q-quantile of ascending `sorted` (the sample at floor(q x n)). */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** The median of `xs` (not modified). */
export const median = (xs: number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** Starts a clock; the returned function gives the wall-clock ms and process CPU ms (all threads) since. */
export function startTimer(): () => { wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { wallMs, cpuMs: (c.user + c.system) / 1000 };
  };
}

/** Median wall-clock ms of `reps` calls of a synchronous `f`. */
export function medianMs(f: () => void, reps: number): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** Median wall-clock ms of `reps` awaited calls of `f`. */
export async function medianMsAsync(f: () => Promise<unknown>, reps: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return median(t);
}
