// Cloudflare Worker entry for stores too large for one isolate: the same Hono app and /v1/* contract as worker.ts, over
// a release that `lvm publish` cut into shards in R2 (src/shard/format.ts). Each shard is served by a Durable Object
// (ShardObject) that loads its object from R2 on first use, checks its sha256 (a mismatch is not served) and answers
// top-k on its own WASM core. The Worker runs the LVM once per request, fans each search out to every shard, merges the
// top-k (src/shard/fanout.ts) and answers; a shard that fails or times out leaves the answer partial, and the response
// says so in its headers:
//   x-lvm-shards: <total>   x-lvm-shards-answered: 0,1,3   x-lvm-partial: true   x-lvm-shards-failed: 2: <why>
// The release served is the one current.json names (re-read every LVM_MANIFEST_TTL_S seconds, default 60); a release
// whose manifest names a missing object is refused at load with the key in the error. Vector input only, as worker.ts.
// `decode: true` works as on worker.ts when the build bundled a decoder and the release holds its encoder's vectors:
// the decoder's weights and USE-lite (which re-embeds its hypotheses) come from the static assets on the first decode
// request and run on the Worker's own core (worker-decoding.ts); otherwise such requests answer 501.

import { DurableObject } from "cloudflare:workers";
import { AsyncLocalStorage } from "node:async_hooks";
import type { ExecutionContext } from "hono";
import coreModule from "../../wasm/build/core.wasm";
import coreRelaxedModule from "../../wasm/build/core-relaxed.wasm";
import { decoder as bundledDecoder, model as bundledModel } from "../../worker-assets/index.ts";
import { createApp } from "../api/app.ts";
import { WasmCore } from "../core/wasm-core.ts";
import { openD1Metrics } from "../db/d1.ts";
import type { MetricsRecorder } from "../db/metrics.ts";
import { addBaselines } from "../lvm/baselines.ts";
import { coreModel } from "../lvm/core-model.ts";
import type { ModelManifest } from "../lvm/model-format.ts";
import { loadModelFromBytes } from "../lvm/reference.ts";
import { ModelRegistry } from "../lvm/registry.ts";
import { type FanOutReport, newReport, prefetchRows, RowCache, ShardedIndex, type ShardStub } from "../shard/fanout.ts";
import {
  CURRENT_KEY,
  parseCurrentPointer,
  parseShardManifest,
  type ShardEntry,
  ShardFormatError,
  type ShardManifest,
  sha256Hex,
} from "../shard/format.ts";
import type { R2BucketLike } from "../shard/r2.ts";
import { type ShardQuery, ShardSearcher } from "../shard/shard-searcher.ts";
import { ShardedStore } from "../shard/sharded-store.ts";
import { type DocumentEntry, parseDocuments } from "../store/format.ts";
import { type AssetsBinding, decodingReserveBytes, loadDecoderFromAssets, loadUseLite, retried } from "./worker-decoding.ts";

interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): ShardRpc;
}

/** ShardObject's RPC methods as the Worker calls them. */
interface ShardRpc {
  search(entry: ShardEntry, dim: number, query: ShardQuery): Promise<Awaited<ReturnType<ShardSearcher["search"]>>>;
  rows(entry: ShardEntry, dim: number, rows: number[]): Promise<Awaited<ReturnType<ShardSearcher["rows"]>>>;
  stats(): Promise<ShardStats>;
}

interface Env {
  SHARDS: R2BucketLike;
  /** Workers Static Assets (public/, wrangler-sharded.toml [assets]): the decoder's and the encoder's weights. */
  ASSETS?: AssetsBinding;
  SHARD: DurableObjectNamespaceLike;
  DB?: Parameters<typeof openD1Metrics>[0];
  LVM_ADMIN_KEY?: string;
  /** Per-shard answer deadline, milliseconds (default 5000). */
  LVM_SHARD_TIMEOUT_MS?: string;
  /** How often current.json is re-read, seconds (default 60). */
  LVM_MANIFEST_TTL_S?: string;
}

export interface ShardStats {
  key: string | null;
  /** Milliseconds from the first call to a searchable shard (R2 read, sha256, graph in place). */
  loadMs: number | null;
  shardBytes: number;
  wasmMemoryBytes: number;
}

async function instantiateCore(): Promise<WasmCore> {
  // Relaxed SIMD where this runtime has it (workerd does), the plain-SIMD build otherwise.
  return WasmCore.instantiate(coreRelaxedModule).catch(() => WasmCore.instantiate(coreModule));
}

/** One shard of the release: its own WASM core (own memory), loaded from R2 on first use. */
export class ShardObject extends DurableObject<Env> {
  #searcher: Promise<ShardSearcher> | undefined;
  #key: string | null = null;
  #loadMs: number | null = null;

  #load(entry: ShardEntry, dim: number): Promise<ShardSearcher> {
    if (this.#key !== null && this.#key !== entry.key)
      throw new ShardFormatError(`this shard object serves '${this.#key}', not '${entry.key}'`);
    this.#key = entry.key;
    this.#searcher ??= (async () => {
      const started = Date.now();
      const object = await this.env.SHARDS.get(entry.key);
      if (!object) throw new ShardFormatError(`shard ${entry.index}: object '${entry.key}' is missing from R2`);
      const core = await instantiateCore();
      const searcher = await ShardSearcher.load(core, object.body, entry, dim);
      this.#loadMs = Date.now() - started;
      return searcher;
    })().catch((error) => {
      // Not cached: a later call retries (a re-uploaded object, a transient R2 error).
      this.#searcher = undefined;
      throw error;
    });
    return this.#searcher;
  }

  async search(entry: ShardEntry, dim: number, query: ShardQuery) {
    return (await this.#load(entry, dim)).search(query);
  }

  async rows(entry: ShardEntry, dim: number, rows: number[]) {
    return (await this.#load(entry, dim)).rows(rows);
  }

  async stats(): Promise<ShardStats> {
    const searcher = await this.#searcher?.catch(() => undefined);
    const memory = searcher?.memory() ?? { shardBytes: 0, wasmMemoryBytes: 0 };
    return { key: this.#key, loadMs: this.#loadMs, ...memory };
  }
}

interface Instance {
  release: string;
  documents: DocumentEntry[];
  manifest: ShardManifest;
  app: ReturnType<typeof createApp>;
  metrics?: MetricsRecorder;
  stub: (index: number) => ShardStub;
  cache: RowCache;
  checkedAt: number;
}

const requestReport = new AsyncLocalStorage<FanOutReport>();

async function readObject(env: Env, key: string, what: string, expected?: { bytes: number; sha256: string }): Promise<string> {
  const object = await env.SHARDS.get(key);
  if (!object) throw new ShardFormatError(`${what} '${key}' is missing from R2`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  if (expected && (bytes.length !== expected.bytes || (await sha256Hex(bytes)) !== expected.sha256))
    throw new ShardFormatError(`${what} '${key}' does not match the size and sha256 recorded for it`);
  return new TextDecoder().decode(bytes);
}

async function currentRelease(env: Env) {
  return parseCurrentPointer(await readObject(env, CURRENT_KEY, "release pointer"), CURRENT_KEY);
}

async function build(env: Env): Promise<Instance> {
  const pointer = await currentRelease(env);
  const manifest = parseShardManifest(await readObject(env, pointer.manifest.key, "manifest", pointer.manifest), pointer.manifest.key);
  // Refuse a release that points at missing objects before serving anything from it.
  for (const shard of manifest.shards) {
    const head = await env.SHARDS.head(shard.key);
    if (!head) throw new ShardFormatError(`release '${manifest.release}': shard ${shard.index} object '${shard.key}' is missing from R2`);
    if (head.size !== shard.bytes)
      throw new ShardFormatError(
        `release '${manifest.release}': shard ${shard.index} object '${shard.key}' has ${head.size} bytes, the manifest says ${shard.bytes}`,
      );
  }
  const documents = parseDocuments(await readObject(env, manifest.documents.key, "documents", manifest.documents), manifest.documents.key);
  const dim = manifest.encoder.dim;
  // A stub is an I/O object of the request that made it: made per call, from ids kept per release.
  const ids = manifest.shards.map((entry) => env.SHARD.idFromName(entry.object));
  const stub = (index: number): ShardStub => {
    const entry = manifest.shards[index];
    const object = env.SHARD.get(ids[index]);
    return { search: (q: ShardQuery) => object.search(entry, dim, q), rows: (rows: number[]) => object.rows(entry, dim, rows) };
  };
  const cache = new RowCache();
  const options = { timeoutMs: Number(env.LVM_SHARD_TIMEOUT_MS ?? 5000), report: () => requestReport.getStore() };
  const store = new ShardedStore(manifest, documents, cache);
  const exactIndex = new ShardedIndex(manifest, stub, cache, true, options);
  const approximateIndex = manifest.hnsw ? new ShardedIndex(manifest, stub, cache, false, options) : undefined;

  const core = await instantiateCore();
  const models = new ModelRegistry();
  if (bundledModel) {
    const reference = loadModelFromBytes(bundledModel.manifest as ModelManifest, bundledModel.weights);
    if (reference.config.dim === dim) models.add(coreModel(core, reference, { name: bundledModel.name, precision: "int8" }));
  }
  addBaselines(models, dim, manifest.encoder.id);
  const metrics = env.DB ? await openD1Metrics(env.DB, { flushIntervalMs: 0 }) : undefined;
  // The decoder loads once per isolate (a new release keeps it: `build` runs again, the loaded promise does not).
  const decoder = bundledDecoder && decoderOnce(env, bundledDecoder);
  const app = createApp({
    store,
    exactIndex,
    approximateIndex,
    models,
    metrics,
    decoder,
    adminKey: env.LVM_ADMIN_KEY,
    runtime: "worker",
    version: `release ${manifest.release}`,
  });
  return { release: manifest.release, documents, manifest, app, metrics, stub, cache, checkedAt: Date.now() };
}

let instance: Promise<Instance> | undefined;

let loadDecoder: (() => ReturnType<typeof loadDecoderFromAssets>) | undefined;

/** The bundled decoder on its own core (the encoder with it), loaded on the first decode request of the isolate. */
function decoderOnce(env: Env, bundled: NonNullable<typeof bundledDecoder>) {
  loadDecoder ??= retried(async () => {
    const core = await instantiateCore();
    const useLite = retried(() => loadUseLite(env.ASSETS, core, true, decodingReserveBytes(bundled)));
    return loadDecoderFromAssets(env.ASSETS, core, bundled, useLite);
  });
  return loadDecoder;
}

async function current(env: Env): Promise<Instance> {
  instance ??= build(env).catch((error) => {
    instance = undefined;
    throw error;
  });
  const served = await instance;
  const ttlMs = Number(env.LVM_MANIFEST_TTL_S ?? 60) * 1000;
  if (Date.now() - served.checkedAt < ttlMs) return served;
  served.checkedAt = Date.now();
  // A new release is switched to only once it loads; until then (or if it fails) the old one keeps serving.
  const pointer = await currentRelease(env).catch(() => undefined);
  if (!pointer || pointer.release === served.release) return served;
  const next = await build(env).catch(() => undefined);
  if (next) instance = Promise.resolve(next);
  return next ?? served;
}

/** Store rows a request names directly ({row} context items, /v1/concepts/{row}, /v1/documents/{index}). */
async function namedRows(request: Request, manifest: ShardManifest, documents: { first: number; count: number }[]): Promise<number[]> {
  const { pathname } = new URL(request.url);
  const concept = /^\/v1\/concepts\/(\d+)$/.exec(pathname);
  if (request.method === "GET" && concept) return [Number(concept[1])];
  const doc = /^\/v1\/documents\/(\d+)$/.exec(pathname);
  if (request.method === "GET" && doc) {
    const d = documents[Number(doc[1])];
    return d ? Array.from({ length: d.count }, (_, i) => d.first + i) : [];
  }
  if (request.method === "POST" && (pathname === "/v1/next" || pathname === "/v1/generate")) {
    const body = (await request
      .clone()
      .json()
      .catch(() => undefined)) as { context?: unknown } | undefined;
    const items = Array.isArray(body?.context) ? body.context : [];
    return items
      .flatMap((item) =>
        item && typeof item === "object" && !Array.isArray(item) && Number.isInteger((item as { row?: unknown }).row)
          ? [(item as { row: number }).row]
          : [],
      )
      .filter((row) => row >= 0 && row < manifest.count);
  }
  return [];
}

/**
 * GET /_shards: each shard object's load time and memory (for the bench and operators); with LVM_ADMIN_KEY set it needs
 * `Authorization: Bearer <key>`. `?load=1` first loads every shard (a cold start when they were not loaded).
 */
async function shardStats(request: Request, env: Env, served: Instance): Promise<Response> {
  if (env.LVM_ADMIN_KEY && request.headers.get("authorization") !== `Bearer ${env.LVM_ADMIN_KEY}`)
    return errorResponse(401, "unauthorized", "GET /_shards needs Authorization: Bearer <LVM_ADMIN_KEY>");
  const load = new URL(request.url).searchParams.get("load") === "1";
  const started = Date.now();
  const shards = await Promise.all(
    served.manifest.shards.map(async (entry) => {
      const object = env.SHARD.get(env.SHARD.idFromName(entry.object));
      try {
        if (load) await object.rows(entry, served.manifest.encoder.dim, [entry.first]);
        return { index: entry.index, ...(await object.stats()) };
      } catch (error) {
        return { index: entry.index, error: (error as Error).message };
      }
    }),
  );
  return Response.json({ release: served.release, wallMs: Date.now() - started, shards });
}

function errorResponse(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let served: Instance;
    try {
      served = await current(env);
    } catch (error) {
      return errorResponse(503, "release_unavailable", `the sharded store cannot be served: ${(error as Error).message}`);
    }
    const { app, metrics, manifest, stub, cache } = served;
    if (new URL(request.url).pathname === "/_shards") return shardStats(request, env, served);
    const report = newReport(manifest.shards.length);
    const response = await requestReport.run(report, async () => {
      const rows = await namedRows(request, manifest, served.documents);
      if (rows.length > 0) await prefetchRows(manifest, stub, cache, rows, { report: () => report }).catch(() => {});
      return app.fetch(request, env, ctx);
    });
    if (metrics) ctx.waitUntil(metrics.flush());
    if (report.answered.size === 0 && report.failed.size === 0) return response;
    const headers = new Headers(response.headers);
    headers.set("x-lvm-shards", String(report.total));
    headers.set("x-lvm-shards-answered", [...report.answered].sort((a, b) => a - b).join(","));
    if (report.failed.size > 0) {
      headers.set("x-lvm-partial", "true");
      headers.set("x-lvm-shards-failed", [...report.failed].map(([i, why]) => `${i}: ${why.replace(/[\r\n]+/g, " ")}`).join("; "));
    }
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  },
};
