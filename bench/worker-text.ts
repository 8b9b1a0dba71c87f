// `npm run bench -- worker-text`: text at the edge. The Worker (wrangler.toml) under `wrangler dev` (local workerd)
// answers POST /v1/next with 1 and with 5 new texts per request (sequential requests from Node over loopback, every
// text unseen so nothing is cached): p50/p99 of the request, and of the embedding stage (timings.embedMs). Then the
// isolate's memory after 1,000 text requests, through wrangler's inspector: the JS heap after a full GC and the array
// buffers' backing stores (the WASM core's memory, which holds the encoder, is one of them).

import { startWranglerDev } from "./servers.ts";

const REQUESTS = Number(process.env.LVM_BENCH_WORKER_REQUESTS ?? 300);
const MEMORY_AFTER = 1000;

/** The isolate's heap after a full GC (HeapProfiler.collectGarbage, then Runtime.getHeapUsage), through the `ws` client. */
async function isolateMemory(port: number): Promise<{ heapMiB: number; backingMiB: number; collected: boolean }> {
  const { default: WebSocket } = await import("ws");
  let collected = false;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  try {
    const result = await new Promise<{ usedSize: number; backingStorageSize?: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no heap usage from the inspector within 20 s")), 20_000);
      // A full GC first where the inspector offers it (the usage is read either way, after its answer or 3 s).
      const read = () => ws.send(JSON.stringify({ id: 2, method: "Runtime.getHeapUsage" }));
      let gc: NodeJS.Timeout | undefined;
      ws.on("open", () => {
        ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
        gc = setTimeout(read, 3000);
      });
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data));
        if (msg.id === 1) {
          clearTimeout(gc);
          collected = !msg.error;
          read();
        }
        if (msg.id === 2) {
          clearTimeout(timer);
          resolve(msg.result);
        }
      });
      ws.on("error", reject);
    });
    return { heapMiB: result.usedSize / 2 ** 20, backingMiB: (result.backingStorageSize ?? Number.NaN) / 2 ** 20, collected };
  } finally {
    ws.close();
  }
}

const SUBJECTS = ["The river", "A merchant", "The old bridge", "Her brother", "The council", "A storm", "The railway", "The museum"];
const VERBS = ["crossed", "described", "rebuilt", "reached", "opened", "flooded", "served", "recorded"];
const OBJECTS = ["the northern valley", "a small harbour town", "the royal archives", "three new schools", "the salt mines"];
/** A new sentence for every (request, slot): nothing repeats, so no cache can answer it. */
const sentence = (i: number, j: number) =>
  `${SUBJECTS[(i + j) % SUBJECTS.length]} ${VERBS[(i * 3 + j) % VERBS.length]} ${OBJECTS[(i + 2 * j) % OBJECTS.length]} in ${1200 + i} (note ${j}).`;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

let sent = 0;
async function next(base: string, texts: string[]): Promise<{ ms: number; embedMs: number }> {
  const started = performance.now();
  const res = await fetch(`${base}/v1/next`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ context: texts, k: 10 }),
  });
  const body = (await res.json()) as { timings?: { embedMs?: number }; error?: unknown };
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`/v1/next answered ${res.status}: ${JSON.stringify(body)}`);
  sent++;
  return { ms, embedMs: body.timings?.embedMs ?? Number.NaN };
}

export async function benchWorkerText(): Promise<Record<string, unknown>> {
  console.log(
    `\n## Text at the edge: POST /v1/next in the Worker under wrangler dev (local workerd), ${REQUESTS} sequential requests each`,
  );
  const dev = await startWranglerDev(["--var", "LVM_RATE_LIMIT:off", "--var", "LVM_DEBUG_MEMORY:1"]);
  try {
    const first = await next(dev.base, [sentence(-1, 0)]);
    console.log(`first text request (loads the encoder): ${first.ms.toFixed(0)} ms`);
    const rows: Record<string, unknown>[] = [];
    console.log("| texts per request | p50 ms | p99 ms | embed p50 ms | embed p99 ms |\n|---|---|---|---|---|");
    let i = 0;
    for (const n of [1, 5]) {
      for (let w = 0; w < 20; w++)
        await next(
          dev.base,
          Array.from({ length: n }, (_, j) => sentence(i++, j)),
        );
      const runs: { ms: number; embedMs: number }[] = [];
      for (let r = 0; r < REQUESTS; r++)
        runs.push(
          await next(
            dev.base,
            Array.from({ length: n }, (_, j) => sentence(i++, j)),
          ),
        );
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
      const embed = runs.map((r) => r.embedMs).sort((a, b) => a - b);
      const row = { texts: n, p50: pct(ms, 50), p99: pct(ms, 99), embedP50: pct(embed, 50), embedP99: pct(embed, 99) };
      rows.push(row);
      console.log(`| ${n} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)} | ${row.embedP50.toFixed(1)} | ${row.embedP99.toFixed(1)} |`);
    }
    while (sent < MEMORY_AFTER)
      await next(
        dev.base,
        Array.from({ length: 5 }, (_, j) => sentence(i++, j)),
      );
    const memory = await isolateMemory(dev.inspector);
    const { wasmMemoryBytes } = (await (await fetch(`${dev.base}/_memory`)).json()) as { wasmMemoryBytes: number };
    const wasmMiB = wasmMemoryBytes / 2 ** 20;
    console.log(
      `isolate after ${sent} text requests: JS heap ${memory.heapMiB.toFixed(1)} MiB (${memory.collected ? "after a full GC" : "no GC through the inspector"}), array buffers ${memory.backingMiB.toFixed(1)} MiB, WASM core memory ${wasmMiB.toFixed(1)} MiB: ${(memory.heapMiB + memory.backingMiB + wasmMiB).toFixed(1)} MiB of 128`,
    );
    return { requests: REQUESTS, firstTextMs: first.ms, rows, memory: { ...memory, wasmMiB, afterRequests: sent } };
  } finally {
    dev.child.kill();
  }
}
