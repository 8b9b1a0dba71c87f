// Node adapter: serves the Hono app with @hono/node-server over a store on disk.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Http2Bindings, type HttpBindings, serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { serveStatic } from "@hono/node-server/serve-static";
import { createApp, type RateLimit } from "../api/app.ts";
import { type AccessSettings, accessSettings } from "../api/middleware/access-settings.ts";
import { tokenBucketLimiter } from "../api/middleware/token-bucket.ts";
import type { WasmCore } from "../core/wasm-core.ts";
import { loadCore } from "../core/wasm-core-node.ts";
import { DEFAULT_METRICS_PATH, openNodeMetrics } from "../db/sqlite-node.ts";
import { DecodePool } from "../decoder/decode-pool-node.ts";
import type { VectorDecoder } from "../decoder/vector-decoder.ts";
import { loadVectorDecoder } from "../decoder/vector-decoder-node.ts";
import { createEmbeddingCache, embeddingCacheOptions } from "../encoders/cached-encoder.ts";
import { EmbedPool } from "../encoders/embed-pool-node.ts";
import { encoderEntry } from "../encoders/registry-node.ts";
import type { Encoder } from "../encoders/types.ts";
import { USE_LITE_ID } from "../encoders/use-lite.ts";
import { CoreIndex } from "../index/core-index.ts";
import { loadStoreIndex } from "../index/hnsw-build.ts";
import type { StoreHubness } from "../index/hubness.ts";
import { loadOrComputeHubness } from "../index/hubness-file-node.ts";
import { referenceIndex, type VectorIndex } from "../index/types.ts";
import { loadModels, type MicroBatchSetting, SHIPPED_MODELS_DIR } from "../lvm/load-models-node.ts";
import { ModelRegistry } from "../lvm/registry.ts";
import { DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS, parseWindowMs } from "../lvm/runners/micro-batch.ts";
import { parseBackend } from "../lvm/runners/select-node.ts";
import type { BackendName } from "../lvm/runners/types.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import type { EncoderRef } from "../store/format.ts";
import { readStore } from "../store/fs-store.ts";
import { ensureDemoStore } from "./demo-store.ts";
import { nodeBundleSource } from "./node-bundle.ts";
import { closeAfterUnreadBody } from "./unread-body-node.ts";

export interface ServerOptions {
  /** A store directory; the embedded demo store when omitted. */
  store?: string;
  port: number;
  host: string;
  /** Extra model directories (each holding model folders) besides the shipped models/. */
  modelRoots?: string[];
  /** The default model's name. */
  model?: string;
  precision?: "int8" | "f32";
  /**
   * The models' engine (src/lvm/runners/select-node.ts): "auto" (the default; $LVM_BACKEND) times the engines that
   * load at startup and keeps the fastest; core, core-f32, ort-node-int8, ort-node-webgpu, ... force one.
   */
  backend?: BackendName;
  /** Micro-batching of forward calls (default: $LVM_BATCH_WINDOW_MS or 1 ms, $LVM_MAX_BATCH or 64; windowMs 0: off). */
  microBatch?: Partial<MicroBatchSetting>;
  /** SQLite file for request metrics; "off" disables them. */
  metricsDb?: string;
  adminKey?: string;
  /** API keys, CORS origins, rate limit (src/api/middleware/access-settings.ts); default: $LVM_API_KEYS, $LVM_CORS_ORIGINS, $LVM_RATE_LIMIT. */
  access?: Partial<AccessSettings>;
  /**
   * The vector-to-text decoder's directory for `decode: true` (src/decoder/); default: $LVM_DECODER, else
   * models/decoder/ where it exists; "off": none (such requests get a 501 saying how to enable it).
   */
  decoder?: string;
}

/** What the page may fetch of the decoder directory (src/web/client/page-decoder.ts). */
const DECODER_FILES = new Set(["model.json", "weights.bin"]);

/** The decoder directory to load, or undefined: the option, else $LVM_DECODER, else models/decoder/ if present. */
export function decoderDir(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = option ?? env.LVM_DECODER;
  if (dir === "off") return undefined;
  if (dir) return dir;
  const shipped = join(SHIPPED_MODELS_DIR, "decoder");
  return existsSync(join(shipped, "model.json")) ? shipped : undefined;
}

/** The in-process rate limit, keyed by API key or the socket's peer address (behind a proxy: the proxy's). */
function nodeRateLimit(setting: AccessSettings["rateLimit"]): RateLimit | undefined {
  if (!setting) return undefined;
  return { limiter: tokenBucketLimiter(setting), clientAddress: (c) => getConnInfo(c).remote.address };
}

/** One commit of the store with its indexes: every request is answered from one snapshot. */
interface Snapshot {
  store: ConceptStore;
  exactIndex: VectorIndex;
  approximateIndex?: VectorIndex & { dispose?(): void };
  /** For models with a hubness penalty (computed once per snapshot). */
  hubness: StoreHubness;
  dispose(): void;
}

async function openSnapshot(core: WasmCore, storeDir: string): Promise<Snapshot> {
  const store = await readStore(storeDir);
  let exactIndex: VectorIndex & { dispose?(): void };
  let coreIndex: CoreIndex | undefined;
  try {
    coreIndex = new CoreIndex(core, store);
    exactIndex = Object.assign(coreIndex, { kind: "exact-core" });
  } catch (error) {
    console.warn(`WASM core search unavailable (${(error as Error).message}); using the TypeScript reference`);
    exactIndex = referenceIndex(store.vectors, store.dim);
  }
  // For models with a hubness penalty: read from <store>/hubness-10.f32, else computed once and cached there.
  const hubness = await loadOrComputeHubness(storeDir, store, coreIndex);
  // The store's HNSW index (lvm index build), unless a request asks for `exact`; a bad or outdated file only warns.
  const approximateIndex = await loadStoreIndex(core, store, storeDir);
  return {
    store,
    exactIndex,
    approximateIndex,
    hubness,
    dispose: () => {
      exactIndex.dispose?.();
      approximateIndex?.dispose();
    },
  };
}

/** The engine and micro-batching settings: the options, else the environment, else auto with a 1 ms window. */
export function engineSettings(
  options: Pick<ServerOptions, "backend" | "microBatch">,
  env: NodeJS.ProcessEnv = process.env,
): { backend: BackendName; microBatch: MicroBatchSetting } {
  const backend = options.backend ?? (env.LVM_BACKEND ? parseBackend(env.LVM_BACKEND) : "auto");
  const windowMs =
    options.microBatch?.windowMs ??
    (env.LVM_BATCH_WINDOW_MS ? parseWindowMs(env.LVM_BATCH_WINDOW_MS, "LVM_BATCH_WINDOW_MS") : DEFAULT_WINDOW_MS);
  const maxBatch = options.microBatch?.maxBatch ?? (env.LVM_MAX_BATCH ? Number(env.LVM_MAX_BATCH) : DEFAULT_MAX_BATCH);
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`LVM_MAX_BATCH must be a positive integer, got '${env.LVM_MAX_BATCH}'`);
  return { backend, microBatch: { windowMs, maxBatch } };
}

/** The startup line's engine part: each served model's engine and why, micro-batching. */
export function engineLine(models: ModelRegistry): string {
  const engine = models.engine;
  if (!engine) return "engine: unknown";
  const served = models
    .list()
    .filter((m) => m.arch !== "baseline")
    .map((m) => `${m.name} on ${m.backend} (${engine.reasons[m.name] ?? engine.requested})`);
  const batching = engine.microBatching
    ? `micro-batching ${engine.microBatching.windowMs} ms, up to ${engine.microBatching.maxBatch} rows`
    : "micro-batching off";
  return `engine: ${served.length > 0 ? served.join(", ") : "no trained model"}; ${batching}`;
}

export async function startServer(options: ServerOptions) {
  const { backend, microBatch } = engineSettings(options);
  const access = { ...accessSettings(process.env), ...options.access };
  const rateLimit = nodeRateLimit(access.rateLimit);
  const storeDir = options.store ?? (await ensureDemoStore());
  const core = await loadCore();
  const first = await openSnapshot(core, storeDir);
  const entry = encoderEntry(first.store.encoder.id);
  // Loaded in the background so the port opens at once; text requests wait for it. Behind the process's
  // embedding cache (LVM_EMBED_CACHE_ENTRIES, LVM_EMBED_CACHE_MB), shared by every store snapshot; on
  // LVM_EMBED_THREADS worker threads (EmbedPool) when > 1, else on this thread.
  const embedCache = createEmbeddingCache(embeddingCacheOptions(process.env));
  const embedThreads = Number(process.env.LVM_EMBED_THREADS ?? 1);
  if (!Number.isInteger(embedThreads) || embedThreads < 1)
    throw new Error(`LVM_EMBED_THREADS must be an integer >= 1, got '${process.env.LVM_EMBED_THREADS}'`);
  let rawLoading: Promise<Encoder> | undefined;
  const rawEncoder = () => {
    rawLoading ??= embedThreads > 1 ? EmbedPool.open(entry.id, embedThreads) : entry.load();
    return rawLoading;
  };
  let loading: Promise<Encoder> | undefined;
  const encoder = () => {
    loading ??= rawEncoder().then((e) => embedCache.wrap(e));
    return loading;
  };
  encoder().catch((error) => console.error(`encoder '${entry.id}' failed to load: ${error.message}`));
  // The decoder loads in the background too; a failed load is logged, and decode requests answer 503 with the
  // reason. Its hypotheses are re-embedded by the queries' encoder variant (LVM_USE_LITE, so a decoded text's cosine
  // is the one the page and the Worker compute with the same weights), without the request cache in front:
  // hypotheses would crowd real texts out of it. With LVM_DECODE_THREADS >= 1 (the default, 1) decodes run on that
  // many worker threads (DecodePool), each loading its own decoder and encoder of that variant, so a decode's ~150 ms
  // of CPU does not hold other requests (npm run bench -- node-decode); 0 keeps them on this thread, re-embedding
  // with the queries' own encoder instance.
  const decoderPath = decoderDir(options.decoder);
  const decodeThreads = Number(process.env.LVM_DECODE_THREADS ?? 1);
  if (!Number.isInteger(decodeThreads) || decodeThreads < 0)
    throw new Error(`LVM_DECODE_THREADS must be an integer >= 0, got '${process.env.LVM_DECODE_THREADS}'`);
  let decoderLoading: Promise<VectorDecoder> | undefined;
  if (decoderPath) {
    const useLite = entry.id === USE_LITE_ID;
    decoderLoading = (
      decodeThreads > 0
        ? DecodePool.open(decoderPath, {
            threads: decodeThreads,
            precision: options.precision,
            encoder: useLite ? entry.id : undefined,
          }).then((decoder) => ({ decoder, weightBytes: decoder.weightBytes }))
        : Promise.resolve(useLite ? rawEncoder() : undefined).then((encoder) =>
            loadVectorDecoder(decoderPath, { precision: options.precision, encoder }),
          )
    ).then(({ decoder, weightBytes }) => {
      const where = decodeThreads > 0 ? `, ${decodeThreads} worker thread${decodeThreads > 1 ? "s" : ""}` : "";
      console.log(
        `decoder ${decoderPath} loaded (${(weightBytes / 2 ** 20).toFixed(1)} MiB, ${decoder.encoderId} ${decoder.dim}-D${where})`,
      );
      return decoder;
    });
    decoderLoading.catch((error) => console.error(`decoder ${decoderPath} failed to load: ${error.message}`));
  }
  const decoder = decoderLoading ? () => decoderLoading : undefined;

  const roots = [SHIPPED_MODELS_DIR, ...(options.modelRoots ?? [])];
  const metrics = options.metricsDb === "off" ? undefined : openNodeMetrics(options.metricsDb ?? DEFAULT_METRICS_PATH);
  const bundle = nodeBundleSource(storeDir, () => new Map(current.models.list().flatMap((m) => (m.dir ? [[m.name, m.dir]] : []))));
  // Each snapshot has its own models: a reload builds new ones, and the old ones are disposed with the old
  // snapshot, after the last request that uses them (clearing one shared registry freed models under requests).
  const openModels = async (encoder: EncoderRef) =>
    loadModels(new ModelRegistry(), core, roots, encoder, { precision: options.precision, preferred: options.model, backend, microBatch });
  const publicDir = fileURLToPath(new URL("../../public/", import.meta.url));
  const ortDir = fileURLToPath(new URL("../../node_modules/onnxruntime-web/dist/", import.meta.url));

  // The app is built per store snapshot; POST /v1/admin/reload swaps in an app over the store's latest commit
  // (an ingest may have committed meanwhile: readers take no lock, the manifest is the commit point). Requests
  // in flight finish on the snapshot they started on, which is disposed after the last of them.
  let current: { snapshot: Snapshot; models: ModelRegistry; app: ReturnType<typeof createApp>; inFlight: number; retired: boolean };
  const retire = (serving: typeof current) => {
    serving.snapshot.dispose();
    serving.models.clear();
  };
  const reload = async () => {
    const next = await openSnapshot(core, storeDir);
    const models = await openModels(next.store.encoder);
    const old = current;
    current = { snapshot: next, models, app: appFor(next, models), inFlight: 0, retired: false };
    old.retired = true;
    if (old.inFlight === 0) retire(old);
    return models.list().map((m) => m.name);
  };
  const appFor = (snapshot: Snapshot, models: ModelRegistry) =>
    createApp({
      store: snapshot.store,
      exactIndex: snapshot.exactIndex,
      approximateIndex: snapshot.approximateIndex,
      hubness: snapshot.hubness,
      encoder,
      embedCache,
      decoder,
      models,
      metrics,
      adminKey: options.adminKey,
      apiKeys: access.apiKeys,
      corsOrigins: access.corsOrigins,
      rateLimit,
      reloadModels: reload,
      runtime: "node",
      bundle,
      // The web page (public/, built by npm run build) and onnxruntime-web for its WebGPU path: no CDN.
      extend: (a) => {
        a.use("/ort/*", serveStatic({ root: ortDir, rewriteRequestPath: (p) => p.replace(/^\/ort\//, "") }));
        // The page's in-browser decoder reads this server's decoder (its two files; none: 404), not the build's copy
        // of the shipped one in public/decoder/, so LVM_DECODER=off or another directory holds on both paths.
        a.use("/decoder/*", async (c, next) => {
          if (decoderPath && DECODER_FILES.has(c.req.path.slice("/decoder/".length))) await next();
          else return c.notFound();
        });
        if (decoderPath) a.use("/decoder/*", serveStatic({ root: decoderPath, rewriteRequestPath: (p) => p.replace(/^\/decoder\//, "") }));
        a.use("/decoder/*", async (c) => c.notFound());
        a.use("/*", serveStatic({ root: publicDir }));
      },
    });
  const models = await openModels(first.store.encoder);
  current = { snapshot: first, models, app: appFor(first, models), inFlight: 0, retired: false };
  const fetch = async (request: Request, env: HttpBindings | Http2Bindings) => {
    const serving = current;
    serving.inFlight++;
    try {
      const response = await serving.app.fetch(request, env);
      // Answered before the body was read to its end (a 413, a 401, a 429): close without resetting the client.
      // (HTTP/1.1 only: this server does not speak HTTP/2.)
      const { incoming, outgoing } = env as HttpBindings;
      if (!incoming.complete) closeAfterUnreadBody(incoming, outgoing);
      return response;
    } finally {
      if (--serving.inFlight === 0 && serving.retired) retire(serving);
    }
  };

  // autoCleanupIncoming off: unread bodies are handled by closeAfterUnreadBody (node-server's clean-up resets them).
  const server = serve({ fetch, port: options.port, hostname: options.host, autoCleanupIncoming: false });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("close", () => {
    void metrics?.close();
    // The decoding threads would keep an embedding process (a test's server) alive after its server closed.
    void decoderLoading?.then((d) => (d instanceof DecodePool ? d.close() : undefined)).catch(() => {});
  });
  // Buffered metrics rows are written before the process goes (the flush timer alone would lose up to 1 s).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      server.close();
      void (metrics?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  }
  const { store, exactIndex, approximateIndex } = first;
  console.log(
    `lvm-edge listening on ${options.host}:${options.port} (store ${storeDir}: ${store.count} concepts, encoder ${store.encoder.id}, index ${approximateIndex?.kind ?? exactIndex.kind}; ` +
      `decoder: ${decoderPath ?? "none"}; models: ${models
        .list()
        .map((m) => m.name)
        .join(", ")}; default ${models.defaultName}; ${engineLine(models)})`,
  );
  return server;
}
