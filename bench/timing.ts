// Timing helpers shared by the benchmarks: quantiles and medians of samples, and calls timed in wall-clock
// (the headline figure) and in the CPU time of the calling thread.

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

/** The mean of `xs`. */
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Starts a clock; the returned function gives the wall-clock ms and this thread's CPU ms since
 * (process.threadCpuUsage, Node >= 23.9: process.cpuUsage would count every thread of the process, e.g.
 * onnxruntime's pools and V8's GC and compiler threads). The CPU figure only means something for work that
 * runs synchronously on the calling thread (the core, onnxruntime-web with 1 thread, plain TypeScript), not
 * for onnxruntime-node, whose run happens on a libuv worker thread. The thread clock advances in scheduler
 * ticks: average it over many calls (mean), never take a median of single short calls.
 */
export function startTimer(): () => { wallMs: number; cpuMs: number } {
  const c0 = process.threadCpuUsage();
  const t0 = performance.now();
  return () => {
    const wallMs = performance.now() - t0;
    const c = process.threadCpuUsage(c0);
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
