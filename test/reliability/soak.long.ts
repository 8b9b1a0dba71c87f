// The soak (npm run test:reliability only): LVM_SOAK_SECONDS (default 600) at concurrency 16 on POST /v1/next
// against the Node server over the mini store, on loopback; contexts of 5 vectors, and 1 request in
// LVM_SOAK_TEXT_EVERY (default 50) with a text in its context (text embedding is the slow path, ~25 texts/s).
// After a warm-up (LVM_SOAK_WARMUP_SECONDS, default min(60, 20% of the run)): 0 errors, resident memory at the
// end no more than 10% above the level after warm-up (less is fine: a drop is the GC giving memory back, not a
// leak), p99 of the last window no more than 20% above the first's (window: 60 s, or a quarter of a shorter run).
// The machine's load average per window is recorded too: on a shared machine, p99 follows the neighbours' load.
// Figures go to the console and to test-output/soak.json.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { describe, expect, it } from "vitest";
import { buildMiniStore, REPO, tempDir } from "../helpers.ts";
import { DIM, miniDocs, miniVectors, startServerChild } from "./mini.ts";

const SECONDS = Number(process.env.LVM_SOAK_SECONDS ?? 600);
const WARMUP = Number(process.env.LVM_SOAK_WARMUP_SECONDS ?? Math.min(60, Math.round(SECONDS / 5)));
const TEXT_EVERY = Number(process.env.LVM_SOAK_TEXT_EVERY ?? 50);
const WINDOW = Math.min(60, SECONDS / 4);
const CONNECTIONS = 16;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** CPU time (user + system) the process has used, in ms: per request, it does not depend on the neighbours' load. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function p99(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)];
}

function run(url: string, seconds: number, bodies: string[], onResponse?: (ms: number) => void): Promise<autocannon.Result> {
  let n = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: "POST",
            path: "/v1/next",
            headers: { "content-type": "application/json" },
            setupRequest: (req) => ({ ...req, body: bodies[n++ % bodies.length] }),
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    if (onResponse) instance.on("response", (_client, _status, _bytes, ms) => onResponse(ms));
  });
}

describe("soak", () => {
  it(`${SECONDS} s at concurrency ${CONNECTIONS} on /v1/next: no errors, flat memory, steady p99`, {
    timeout: (SECONDS + WARMUP + 300) * 1000,
  }, async () => {
    await using dir = await tempDir();
    const store = await buildMiniStore(join(dir.path, "store"));
    const vectors = await miniVectors();
    const texts = (await miniDocs()).flatMap((d) => d.paragraphs).filter((t) => t.length < 400);
    const vector = (row: number) => Array.from(vectors.subarray(row * DIM, (row + 1) * DIM));
    // 200 request bodies, cycled: vectors only, except every TEXT_EVERY-th, whose last context item is a text.
    const bodies = Array.from({ length: 200 }, (_, i) => {
      const first = (i * 31) % 6000;
      const context: (number[] | string)[] = Array.from({ length: 5 }, (_, j) => vector(first + j));
      if (i % TEXT_EVERY === TEXT_EVERY - 1) context[4] = texts[(i * 7) % texts.length];
      return JSON.stringify({ context, k: 5 });
    });
    const server = await startServerChild({ LVM_STORE: store, LVM_METRICS_DB: join(dir.path, "metrics.sqlite") });
    try {
      const warm = await run(server.base, WARMUP, bodies);
      const rssWarm = await rssMiB(server.pid);
      const started = Date.now();
      const windows = new Map<number, number[]>();
      const rss: { t: number; mib: number }[] = [];
      const load = new Map<number, number[]>();
      const cpuAt = new Map<number, number>([[0, await cpuMs(server.pid)]]);
      const sampler = setInterval(() => {
        const t = (Date.now() - started) / 1000;
        void rssMiB(server.pid).then((mib) => rss.push({ t, mib }));
        const w = Math.floor(t / WINDOW);
        load.set(w, [...(load.get(w) ?? []), loadavg()[0]]);
        // CPU used by the end of each window (the latest sample in it).
        void cpuMs(server.pid).then((ms) => cpuAt.set(w + 1, ms));
      }, 1000);
      const result = await run(server.base, SECONDS, bodies, (ms) => {
        const w = Math.floor((Date.now() - started) / 1000 / WINDOW);
        const list = windows.get(w) ?? [];
        if (list.length === 0) windows.set(w, list);
        list.push(ms);
      });
      clearInterval(sampler);
      const rssEnd = await rssMiB(server.pid);
      const full = [...windows.entries()].filter(([, v]) => v.length > 0).sort((a, b) => a[0] - b[0]);
      // The last window is the last full one (the final partial window is only the run's tail).
      const complete = full.filter(([w]) => (w + 1) * WINDOW <= SECONDS + 0.5);
      const firstP99 = p99(complete[0][1]);
      const lastP99 = p99(complete[complete.length - 1][1]);
      const figures = {
        seconds: SECONDS,
        warmupSeconds: WARMUP,
        connections: CONNECTIONS,
        textEvery: TEXT_EVERY,
        requests: result.requests.total,
        requestsPerSecond: result.requests.average,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        warmupErrors: warm.errors + warm.non2xx,
        latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
        windowSeconds: WINDOW,
        p99PerWindowMs: full.map(([w, v]) => {
          const l = load.get(w) ?? [];
          const cpu = (cpuAt.get(w + 1) ?? Number.NaN) - (cpuAt.get(w) ?? Number.NaN);
          return {
            window: w,
            requests: v.length,
            p99: p99(v),
            serverCpuMsPerRequest: cpu / v.length,
            loadAverage: l.reduce((a, b) => a + b, 0) / Math.max(1, l.length),
          };
        }),
        firstWindowP99Ms: firstP99,
        lastWindowP99Ms: lastP99,
        rssMiB: { afterWarmup: rssWarm, end: rssEnd, max: Math.max(...rss.map((r) => r.mib)), samples: rss.filter((_, i) => i % 10 === 0) },
      };
      console.log(JSON.stringify({ ...figures, rssMiB: { ...figures.rssMiB, samples: undefined } }, null, 1));
      await mkdir(join(REPO, "test-output"), { recursive: true });
      await writeFile(join(REPO, "test-output", "soak.json"), `${JSON.stringify(figures, null, 1)}\n`);
      expect(result.errors + result.timeouts + result.non2xx + warm.errors + warm.non2xx).toBe(0);
      expect((rssEnd - rssWarm) / rssWarm).toBeLessThanOrEqual(0.1);
      expect((lastP99 - firstP99) / firstP99).toBeLessThanOrEqual(0.2);
    } finally {
      await server.stop();
    }
  });
});
