// Sharded serving (issue 16) under `wrangler dev` (workerd with local R2 and Durable Objects): the 325,207 x 512 set that
// bench/hnsw.ts makes from dev1k (each row a dev1k row + N(0, 0.3^2/512) per value, renormalised), with the dev1k
// paragraph texts, published by `lvm publish`'s code into 2, 4 and 8 shards (each with its own HNSW graph, M 16,
// efConstruction 100), each loaded into wrangler's local R2 and served by `wrangler dev -c wrangler-sharded.toml`.
// Per shard count: cold start (GET /_shards?load=1: every shard object read from R2, sha256-checked and made searchable),
// recall@10 of /v1/search (HNSW, default ef 64 per shard) against the exact top-10 over the whole set, p50/p99 of a
// request (sequential, from Node over loopback), each Durable Object's wasm memory (its shard lives there) and the
// isolate's JS heap (inspector Runtime.getHeapUsage: the Worker and every DO share one isolate under wrangler dev).
// Env: LVM_BENCH_SHARDED_SHARDS=2,4,8 picks the shard counts; LVM_BENCH_SHARDED_QUERIES (default 300);
// published releases are cached in .lvm/bench-sharded/ (LVM_BENCH_SHARDED_REUSE=0 rebuilds them).
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { loadCore } from "../src/core/wasm-core-node.ts";
import { CoreIndex } from "../src/index/core-index.ts";
import { createRng } from "../src/lvm/rng.ts";
import { CURRENT_KEY } from "../src/shard/format.ts";
import { directoryTarget, publishStore } from "../src/shard/publish-node.ts";
import { openWranglerLocalBucket } from "../src/shard/wrangler-local-node.ts";
import { ConceptStore } from "../src/store/concept-store.ts";
import { type DocumentEntry, ROW_FIELDS, STORE_FORMAT, STORE_VERSION } from "../src/store/format.ts";
import { quantizeRows } from "../src/store/quantize.ts";
import { WIKI } from "./paths.ts";
import { startWranglerDev } from "./servers.ts";

const DIM = 512;
const LARGE = 325_207;
const NOISE = 0.3;
const REPO = fileURLToPath(new URL("..", import.meta.url));
const CACHE = join(REPO, ".lvm/bench-sharded");

function withNoise(source: Float32Array, rows: number, pick: (i: number) => number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(rows * DIM);
  const sigma = NOISE / Math.sqrt(DIM);
  for (let i = 0; i < rows; i++) {
    const from = pick(i) * DIM;
    let s = 0;
    for (let j = 0; j < DIM; j++) {
      const v = source[from + j] + sigma * rng.normal();
      out[i * DIM + j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < DIM; j++) out[i * DIM + j] *= inv;
  }
  return out;
}

/** The 325k set as a concept store: row i is dev1k paragraph i mod 41,623 (its text), in copies of the dev1k articles. */
function largeStore(dev1k: Float32Array): ConceptStore {
  const articles = gunzipSync(readFileSync(join(WIKI, "wiki-dev1k.jsonl.gz")))
    .toString("utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { id: string; title: string; paragraphs: string[] });
  const paragraphs = articles.flatMap((a) => a.paragraphs);
  const n = paragraphs.length;
  const vectors = withNoise(dev1k, LARGE, (i) => i % n, 1);
  const { codes, scales } = quantizeRows(vectors, DIM);
  const encoder = new TextEncoder();
  const encoded = paragraphs.map((p) => encoder.encode(p));
  const documents: DocumentEntry[] = [];
  const docOf = new Int32Array(LARGE);
  const position = new Int32Array(LARGE);
  for (let copy = 0, row = 0; row < LARGE; copy++) {
    for (const a of articles) {
      if (row >= LARGE) break;
      const count = Math.min(a.paragraphs.length, LARGE - row);
      for (let p = 0; p < count; p++) {
        docOf[row + p] = documents.length;
        position[row + p] = p;
      }
      documents.push({ id: `${a.id}#${copy}`, title: a.title, first: row, count });
      row += count;
    }
  }
  let textBytes = 0;
  for (let r = 0; r < LARGE; r++) textBytes += encoded[r % n].length;
  const texts = new Uint8Array(textBytes);
  const rows = new Uint32Array(LARGE * ROW_FIELDS);
  for (let r = 0, at = 0; r < LARGE; r++) {
    const t = encoded[r % n];
    texts.set(t, at);
    rows.set([at, t.length, docOf[r], position[r]], r * ROW_FIELDS);
    at += t.length;
  }
  return new ConceptStore({
    manifest: {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      encoder: { id: "use-lite", dim: DIM },
      count: LARGE,
      documents: documents.length,
      textBytes,
      documentBytes: 0,
      updatedAt: new Date(0).toISOString(),
    },
    documents,
    texts,
    rows,
    vectors,
    int8: codes,
    scales,
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(join(dir, f)).isFile());
}

/**
 * V8 heap of the isolate behind wrangler dev's inspector (Runtime.getHeapUsage): used JS heap and the array buffers'
 * backing stores (where WebAssembly memories live). Through the `ws` client: wrangler's inspector proxy drops Node's
 * built-in WebSocket.
 */
async function heapUsage(port: number): Promise<{ usedMiB: number; totalMiB: number; backingMiB: number }> {
  const { default: WebSocket } = await import("ws");
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  try {
    const result = await new Promise<{ usedSize: number; totalSize: number; backingStorageSize?: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no heap usage from the inspector within 10 s")), 10_000);
      ws.on("open", () => ws.send(JSON.stringify({ id: 1, method: "Runtime.getHeapUsage" })));
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data));
        if (msg.id === 1) {
          clearTimeout(timer);
          resolve(msg.result);
        }
      });
      ws.on("error", reject);
    });
    const mib = (n: number) => n / 2 ** 20;
    return { usedMiB: mib(result.usedSize), totalMiB: mib(result.totalSize), backingMiB: mib(result.backingStorageSize ?? Number.NaN) };
  } finally {
    ws.close();
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

export async function benchSharded(): Promise<Record<string, unknown>> {
  console.log("\n## Sharded serving: 325k x 512 over Durable Objects under wrangler dev (local R2)");
  const vectorsFile = join(WIKI, "wiki-dev1k.use-lite-512.f32");
  if (!existsSync(vectorsFile)) {
    console.log(`skipped: no ${vectorsFile}`);
    return { skipped: `no ${vectorsFile}` };
  }
  console.log("(the machine is shared with other agents: timings are indicative, not isolated)");
  const file = readFileSync(vectorsFile);
  const dev1k = new Float32Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
  const counts = (process.env.LVM_BENCH_SHARDED_SHARDS ?? "2,4,8").split(",").map(Number);
  const nq = Number(process.env.LVM_BENCH_SHARDED_QUERIES ?? 300);
  let store: ConceptStore | undefined;
  const storeOnce = () => {
    store ??= largeStore(dev1k);
    return store;
  };

  // Queries as bench/hnsw.ts makes them: dev1k rows with fresh noise; truth: exact top-10 over the whole set.
  const rng = createRng(7);
  const picks = Array.from({ length: nq }, () => rng.int(dev1k.length / DIM));
  const queries = withNoise(dev1k, nq, (i) => picks[i], 99);
  const exact = new CoreIndex(await loadCore(), storeOnce());
  const truth: Int32Array[] = [];
  for (let from = 0; from < nq; from += 50) {
    const n = Math.min(50, nq - from);
    for (const hits of exact.searchBatch(queries.subarray(from * DIM, (from + n) * DIM), n, 10)) truth.push(hits.rows);
  }
  exact.dispose();

  const results: Record<string, unknown>[] = [];
  console.log(
    "| shards | shard object MiB | cold start ms (all shards, parallel) | shard load ms (max) | recall@10 hnsw | p50 ms | p99 ms | recall@10 exact | exact p50 ms | exact p99 ms | DO wasm memory MiB (max) | isolate JS heap / array buffers MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const shards of counts) {
    const dir = join(CACHE, `s${shards}`);
    if (process.env.LVM_BENCH_SHARDED_REUSE === "0" || !existsSync(join(dir, CURRENT_KEY))) {
      await rm(dir, { recursive: true, force: true });
      const started = performance.now();
      await publishStore(storeOnce(), directoryTarget(dir), {
        shards,
        hnsw: { M: 16, efConstruction: 100 },
        release: `bench-${shards}`,
        onProgress: (m) => process.stderr.write(`  publish ${shards}: ${m}\n`),
      });
      process.stderr.write(`  published ${shards} shards in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
    const state = await mkdtemp(join(tmpdir(), "lvm-bench-wrangler-"));
    let child: ChildProcess | undefined;
    try {
      const local = await openWranglerLocalBucket(state);
      for (const f of filesUnder(dir)) await local.bucket.put(relative(dir, join(dir, f)), new Uint8Array(readFileSync(join(dir, f))));
      await local.dispose();
      const dev = await startWranglerDev(["-c", "wrangler-sharded.toml", "--persist-to", state, "--var", "LVM_SHARD_TIMEOUT_MS:60000"]);
      child = dev.child;
      let started = performance.now();
      const cold = (await (await fetch(`${dev.base}/_shards?load=1`)).json()) as {
        shards: { loadMs: number | null; shardBytes: number; wasmMemoryBytes: number; error?: string }[];
      };
      const coldMs = performance.now() - started;
      const failed = cold.shards.filter((s) => s.error);
      if (failed.length > 0) throw new Error(`shards failed to load: ${JSON.stringify(failed)}`);
      const search = async (vector: Float32Array, exactSearch: boolean) => {
        const t = performance.now();
        const res = await fetch(`${dev.base}/v1/search`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ vector: Array.from(vector), k: 10, exact: exactSearch }),
        });
        const body = (await res.json()) as { results: { row: number }[] };
        if (res.status !== 200 || res.headers.get("x-lvm-partial"))
          throw new Error(`search: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
        return { ms: performance.now() - t, rows: body.results.map((r) => r.row) };
      };
      for (let i = 0; i < 20; i++) await search(queries.subarray(i * DIM, (i + 1) * DIM), false);
      const measure = async (exactSearch: boolean, n: number) => {
        const times: number[] = [];
        let hits = 0;
        for (let i = 0; i < n; i++) {
          const { ms, rows } = await search(queries.subarray(i * DIM, (i + 1) * DIM), exactSearch);
          times.push(ms);
          const want = new Set(truth[i]);
          hits += rows.filter((r) => want.has(r)).length;
        }
        times.sort((a, b) => a - b);
        return { recall: hits / (n * 10), p50: pct(times, 50), p99: pct(times, 99) };
      };
      const hnsw = await measure(false, nq);
      const exactRun = await measure(true, Math.min(nq, 100));
      started = performance.now();
      const after = (await (await fetch(`${dev.base}/_shards`)).json()) as typeof cold;
      const heap = await heapUsage(dev.inspector).catch((error) => {
        process.stderr.write(`  inspector: ${error.message}\n`);
        return { usedMiB: Number.NaN, totalMiB: Number.NaN, backingMiB: Number.NaN };
      });
      const shardMiB = Math.max(...after.shards.map((s) => s.shardBytes)) / 2 ** 20;
      const wasmMiB = Math.max(...after.shards.map((s) => s.wasmMemoryBytes)) / 2 ** 20;
      const loadMs = Math.max(...cold.shards.map((s) => s.loadMs ?? 0));
      const objectMiB =
        Math.max(
          ...readdirSync(join(dir, "releases", `bench-${shards}`))
            .filter((f) => f.startsWith("shard-"))
            .map((f) => statSync(join(dir, "releases", `bench-${shards}`, f)).size),
        ) /
        2 ** 20;
      console.log(
        `| ${shards} | ${objectMiB.toFixed(1)} | ${coldMs.toFixed(0)} | ${loadMs.toFixed(0)} | ${hnsw.recall.toFixed(4)} | ${hnsw.p50.toFixed(1)} | ${hnsw.p99.toFixed(1)} | ${exactRun.recall.toFixed(4)} | ${exactRun.p50.toFixed(1)} | ${exactRun.p99.toFixed(1)} | ${wasmMiB.toFixed(1)} | ${heap.usedMiB.toFixed(1)} / ${heap.backingMiB.toFixed(1)} |`,
      );
      results.push({ shards, objectMiB, coldMs, loadMs, hnsw, exact: exactRun, shardMiB, wasmMiB, heap, perShard: after.shards });
    } finally {
      child?.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      await rm(state, { recursive: true, force: true });
    }
  }
  return { count: LARGE, dim: DIM, queries: nq, results, note: "shared 2-core machine; wrangler dev (workerd) on loopback" };
}

if (import.meta.main) console.log(JSON.stringify(await benchSharded(), null, 2));
