// `npm run bench -- node-decode`: what a decode costs the Node server's other requests. Plain /v1/next requests (no
// decode, one at a time) are timed on an idle server, then while two clients keep decode requests in flight, with
// the decoder on the server's own thread (LVM_DECODE_THREADS=0) and on a worker thread (1, the default). The
// plain requests' p50/p99 under decode load, against the idle server's in the same run, is the figure.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNodeServer } from "./servers.ts";
import { quantile } from "./timing.ts";

const PLAIN_REQUESTS = Number(process.env.LVM_BENCH_PLAIN_REQUESTS ?? 200);
const DECODE_CLIENTS = 2;

async function post(base: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}/v1/next`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${base} /v1/next answered ${res.status}: ${text}`);
}

const context = (row: number) => [0, 1, 2, 3, 4].map((i) => ({ row: row + i }));

/** p50/p99 ms of PLAIN_REQUESTS sequential /v1/next requests without decode. */
async function plainLatency(base: string) {
  const ms: number[] = [];
  for (let i = 0; i < PLAIN_REQUESTS; i++) {
    const started = performance.now();
    await post(base, { context: context(i % 40), k: 5 });
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
}

async function measure(dir: string, threads: number) {
  const server = await startNodeServer(dir, { LVM_DECODE_THREADS: String(threads) });
  try {
    await post(server.base, { context: context(0), k: 5, decode: true }); // loads the decoder
    await plainLatency(server.base); // warm-up
    const idle = await plainLatency(server.base);
    let running = true;
    let decodes = 0;
    const clients = Array.from({ length: DECODE_CLIENTS }, async (_, c) => {
      for (let i = 0; running; i++) {
        await post(server.base, { context: context((c * 20 + i) % 40), k: 5, decode: true, decodeOptions: { seed: i } });
        decodes++;
      }
    });
    const started = performance.now();
    const loaded = await plainLatency(server.base);
    const seconds = (performance.now() - started) / 1000;
    running = false;
    await Promise.all(clients);
    return { threads, idle, underDecodes: loaded, decodesPerSecond: decodes / seconds, p99Ratio: loaded.p99 / idle.p99 };
  } finally {
    server.stop();
  }
}

export async function benchNodeDecode(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "bench-node-decode-"));
  try {
    const onThread = await measure(dir, 0);
    const onWorker = await measure(dir, 1);
    for (const r of [onThread, onWorker])
      console.log(
        `LVM_DECODE_THREADS=${r.threads}: plain /v1/next idle p50 ${r.idle.p50.toFixed(1)} / p99 ${r.idle.p99.toFixed(1)} ms; ` +
          `under ${DECODE_CLIENTS} decoding clients p50 ${r.underDecodes.p50.toFixed(1)} / p99 ${r.underDecodes.p99.toFixed(1)} ms ` +
          `(p99 ${r.p99Ratio.toFixed(1)}x idle; ${r.decodesPerSecond.toFixed(1)} decodes/s)`,
      );
    console.log(
      `worker thread vs server thread, plain p99 under decodes: ${(onWorker.underDecodes.p99 / onThread.underDecodes.p99).toFixed(2)}x`,
    );
    return { onThread, onWorker };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
