// /v1/next with text input on the Node server at concurrency 16 over loopback: 5 NEW texts per request (every
// text unseen, so every one is embedded) and a sliding window (each of 16 streams moves one text per request:
// 4 of its 5 texts were sent before, the embedding cache answers them). Each server runs in its own process on
// the embedded demo store: LVM_USE_LITE=tfjs (TF.js, the baseline of issue 11's "5 req/s") and the default
// (the WASM core, INT8), on the server's thread and on 2 worker threads (LVM_EMBED_THREADS=2, EmbedPool:
// concurrent requests' texts merged into shared batches). Ratios are against TF.js with new texts, same run.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import autocannon from "autocannon";
import { REPO, startNodeServer } from "./servers.ts";

const CONNECTIONS = 16;

export interface TextLoad {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  /** The server's embedding cache counters over the load (GET /v1/metrics). */
  cache?: { storedHits: number; lruHits: number; misses: number };
}

/** Unique texts: demo-corpus paragraphs (first 300 characters, as bench/http.ts) tagged with their number. */
function textSource(): (n: number) => string {
  const lines = gunzipSync(readFileSync(join(REPO, "demo/corpus.jsonl.gz")))
    .toString("utf8")
    .trim()
    .split("\n");
  const paragraphs = lines.flatMap((l) => (JSON.parse(l) as { paragraphs: string[] }).paragraphs.map((p) => p.slice(0, 300)));
  return (n) => `${paragraphs[n % paragraphs.length]} [${n}]`;
}

async function cacheCounters(base: string) {
  const body = (await (await fetch(`${base}/v1/metrics`)).json()) as { embedCache?: TextLoad["cache"] };
  return body.embedCache;
}

/** One load: `mode` new (5 unseen texts a request) or sliding (one new text a request per stream). */
async function textLoad(base: string, mode: "new" | "sliding", seconds: number, offset: number): Promise<TextLoad> {
  const text = textSource();
  let request = 0;
  const before = await cacheCounters(base);
  const result = await autocannon({
    url: `${base}/v1/next`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (req) => {
          const n = request++;
          let context: string[];
          if (mode === "new") {
            context = Array.from({ length: 5 }, (_, i) => text(offset + 5 * n + i));
          } else {
            // Stream s = n mod 16 at step t: its texts t..t+4. Step t-1 of the same stream was request n-16,
            // answered by now (at most 16 requests are in flight), so 4 of the 5 texts are cached.
            const stream = n % CONNECTIONS;
            const step = Math.floor(n / CONNECTIONS);
            context = Array.from({ length: 5 }, (_, i) => text(offset + stream * 1_000_000 + step + i));
          }
          return { ...req, body: JSON.stringify({ context, k: 10 }) };
        },
      },
    ],
  });
  const after = await cacheCounters(base);
  const cache =
    before && after
      ? { storedHits: after.storedHits - before.storedHits, lruHits: after.lruHits - before.lruHits, misses: after.misses - before.misses }
      : undefined;
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    cache,
  };
}

export async function benchEncoderHttp(seconds = Number(process.env.LVM_BENCH_HTTP_SECONDS ?? 10)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "lvm-bench-encoder-http-"));
  const rows: { encoder: string; mode: "new" | "sliding"; load: TextLoad }[] = [];
  try {
    for (const [encoder, env] of [
      ["tfjs", { LVM_USE_LITE: "tfjs" }],
      ["core-int8", {}],
      ["core-int8, 2 embed threads", { LVM_EMBED_THREADS: "2" }],
    ] as const) {
      const server = await startNodeServer(dir, env);
      try {
        // Warm-up: the encoder loads in the background and the first calls compile (texts never used again).
        for (let i = 0; i < 3; i++) {
          const context = Array.from({ length: 5 }, (_, j) => `warm-up text ${i} ${j}: the river flows into the sea.`);
          await (
            await fetch(`${server.base}/v1/next`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ context }),
            })
          ).arrayBuffer();
        }
        // Each load starts at its own offset: no text of one load is cached for another.
        rows.push({ encoder, mode: "new", load: await textLoad(server.base, "new", seconds, 0) });
        rows.push({ encoder, mode: "sliding", load: await textLoad(server.base, "sliding", seconds, 100_000_000) });
      } finally {
        server.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const baseline = rows.find((r) => r.encoder === "tfjs" && r.mode === "new")!.load.rps;
  const targets: Record<string, number> = {
    "core-int8 new": 5,
    "core-int8 sliding": 20,
    "core-int8, 2 embed threads new": 5,
    "core-int8, 2 embed threads sliding": 20,
  };
  console.log(
    `\n## /v1/next with text, Node server, loopback, concurrency ${CONNECTIONS}, ${seconds} s each (ratios against TF.js, new texts)`,
  );
  console.log("| encoder | texts | req/s | x TF.js new | target | p50 ms | p99 ms | errors | stored / LRU / embedded texts |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const { encoder, mode, load } of rows) {
    const ratio = load.rps / baseline;
    const target = targets[`${encoder} ${mode}`];
    const c = load.cache;
    console.log(
      `| ${encoder} | ${mode === "new" ? "5 new" : "sliding (4 of 5 seen)"} | ${load.rps.toFixed(1)} | ${ratio.toFixed(1)} | ${target ? `>= ${target}x: ${ratio >= target ? "met" : "NOT met"}` : "-"} | ${load.p50} | ${load.p99} | ${load.errors} | ${c ? `${c.storedHits} / ${c.lruHits} / ${c.misses}` : "-"} |`,
    );
  }
  return { seconds, rows, ratiosVsTfjsNew: Object.fromEntries(rows.map((r) => [`${r.encoder} ${r.mode}`, r.load.rps / baseline])) };
}
