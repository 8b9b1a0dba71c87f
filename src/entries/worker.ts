// Cloudflare Worker entry: the same Hono app over the bundled demo store (INT8 vectors) and edge model,
// on the WASM core imported as a module (Workers forbid compiling wasm from bytes). Text input runs USE-lite
// on the same core from its INT8 edge weights file (use-lite-core-format.ts), read from the Worker's static
// assets on the first text: bundled as data it would take the upload from 3.6 to 10.2 MB gzip, past the
// 10 MB limit (measured with `wrangler deploy --dry-run`); as an asset it is one 7.4 MB file (limit 25 MiB).
// The vector-to-text decoder (`decode: true`), when the build bundled one (models/decoder/): its model.json is in
// the bundle, its weights (the INT8 decoder, ~8 MB) are read from the static assets on the first decode request,
// for the same reason; it runs INT8 on the same core and re-embeds its hypotheses with the same USE-lite encoder.

import type { ExecutionContext } from "hono";
import coreModule from "../../wasm/build/core.wasm";
import coreRelaxedModule from "../../wasm/build/core-relaxed.wasm";
import { decoder as bundledDecoder, model as bundledModel, storeFiles } from "../../worker-assets/index.ts";
import { type BundleSource, createApp } from "../api/app.ts";
import { WasmCore } from "../core/wasm-core.ts";
import { openD1Metrics } from "../db/d1.ts";
import { createEmbeddingCache, embeddingCacheOptions } from "../encoders/cached-encoder.ts";
import { CoreIndex } from "../index/core-index.ts";
import { hubnessForStore } from "../index/hubness.ts";
import { addBaselines } from "../lvm/baselines.ts";
import { coreModel } from "../lvm/core-model.ts";
import type { ModelManifest } from "../lvm/model-format.ts";
import { loadModelFromBytes } from "../lvm/reference.ts";
import { ModelRegistry } from "../lvm/registry.ts";
import { storeFromBytes } from "../store/concept-store.ts";
import { BUNDLE_FILES, type BundleFile } from "../store/format.ts";
import { metricsFlusher, type WorkerAccessEnv, workerAccess } from "./worker-access.ts";
import { type AssetsBinding, decodingReserveBytes, loadDecoderFromAssets, loadUseLite, retried } from "./worker-decoding.ts";

interface Env extends WorkerAccessEnv {
  DB?: Parameters<typeof openD1Metrics>[0];
  LVM_ADMIN_KEY?: string;
  /** "1" answers GET /_memory with the WASM core's memory size (local measurements only). */
  LVM_DEBUG_MEMORY?: string;
  /** Workers Static Assets (public/, wrangler.toml [assets]): the page, and the encoder's weights file. */
  ASSETS?: AssetsBinding;
}

interface Instance {
  app: ReturnType<typeof createApp>;
  flushMetrics?: () => Promise<void> | undefined;
  /** Bytes of the WASM core's memory (store, model and encoder live there): GET /_memory with LVM_DEBUG_MEMORY=1. */
  wasmMemoryBytes: () => number;
}

let instance: Promise<Instance> | undefined;

async function build(env: Env): Promise<Instance> {
  // Relaxed SIMD where this runtime has it (workerd does), the plain-SIMD build otherwise.
  const core = await WasmCore.instantiate(coreRelaxedModule).catch(() => WasmCore.instantiate(coreModule));
  const store = storeFromBytes(storeFiles);
  const coreIndex = new CoreIndex(core, store);
  const exactIndex = Object.assign(coreIndex, { kind: "exact-core" });
  // ~2.4k bundled concepts: a few ms on the core, once per isolate.
  const hubness = hubnessForStore(store, coreIndex);
  const models = new ModelRegistry();
  if (bundledModel) {
    const reference = loadModelFromBytes(bundledModel.manifest as ModelManifest, bundledModel.weights);
    models.add(coreModel(core, reference, { name: bundledModel.name, precision: "int8" }));
  }
  addBaselines(models, store.dim, store.encoder.id);
  const metrics = env.DB ? await openD1Metrics(env.DB, { flushIntervalMs: 0 }) : undefined;
  // The page's in-browser mode downloads the same bundled bytes the Worker serves from.
  const storeBytes: Record<string, ArrayBuffer | string> = Object.fromEntries(
    Object.entries(BUNDLE_FILES).map(([file, name]) => [name, storeFiles[file as BundleFile]]),
  );
  const bundle: BundleSource = {
    storeFile: async (name) => storeBytes[name],
    modelFile: async (name, file) => {
      if (!bundledModel || name !== bundledModel.name) return undefined;
      if (file === "model.json") return JSON.stringify(bundledModel.manifest);
      return file === "weights.bin" ? bundledModel.weights : undefined;
    },
  };
  // The encoder is built on the first text (its weights take ~20 MB of core memory): vector-only traffic never pays.
  // 512 tokens a forward pass bounds the core's activation buffers (~10 MB); more texts run as more passes.
  // Behind the isolate's embedding cache (LVM_EMBED_CACHE_ENTRIES, LVM_EMBED_CACHE_MB), as on Node.
  const embedCache = createEmbeddingCache(embeddingCacheOptions(env as Record<string, unknown>));
  // One encoder on the core for requests (behind the cache) and the decoder (its hypotheses bypass the cache).
  const loadUseLiteOnce = retried(() =>
    loadUseLite(env.ASSETS, core, bundledDecoder !== undefined, bundledDecoder && decodingReserveBytes(bundledDecoder)),
  );
  const loadEncoder = retried(async () => embedCache.wrap((await loadUseLiteOnce()).encoder));
  // Without a bundled decoder, `decode: true` answers 501 (no `decoder` dependency).
  const decoderFiles = bundledDecoder;
  const loadDecoder = decoderFiles && retried(() => loadDecoderFromAssets(env.ASSETS, core, decoderFiles, loadUseLiteOnce));
  const app = createApp({
    store,
    exactIndex,
    hubness,
    models,
    encoder: loadEncoder,
    embedCache,
    decoder: loadDecoder,
    metrics,
    adminKey: env.LVM_ADMIN_KEY,
    ...workerAccess(env),
    runtime: "worker",
    bundle,
  });
  return { app, flushMetrics: metrics && metricsFlusher(metrics), wasmMemoryBytes: () => core.exports.memory.buffer.byteLength };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    instance ??= build(env).catch((error) => {
      instance = undefined;
      throw error;
    });
    const { app, flushMetrics, wasmMemoryBytes } = await instance;
    // The isolate's wasm memory for bench/worker-text.ts (the inspector's heap usage does not show it under workerd).
    if (env.LVM_DEBUG_MEMORY === "1" && new URL(request.url).pathname === "/_memory")
      return Response.json({ wasmMemoryBytes: wasmMemoryBytes() });
    const response = await app.fetch(request, env, ctx);
    // Timers do not outlive a Worker request: the buffered metrics rows are written after responding, in batches.
    const flushing = flushMetrics?.();
    if (flushing) ctx.waitUntil(flushing);
    return response;
  },
};
