// Node adapter: serves the Hono app with @hono/node-server over a store on disk.

import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { createApp } from "../api/app.ts";
import { loadCore } from "../core/wasm-core-node.ts";
import { DEFAULT_METRICS_PATH, openNodeMetrics } from "../db/sqlite-node.ts";
import { encoderEntry } from "../encoders/registry-node.ts";
import type { Encoder } from "../encoders/types.ts";
import { CoreIndex } from "../index/core-index.ts";
import { loadStoreIndex } from "../index/hnsw-build.ts";
import { referenceIndex, type VectorIndex } from "../index/types.ts";
import { loadModels, SHIPPED_MODELS_DIR } from "../lvm/load-models-node.ts";
import { ModelRegistry } from "../lvm/registry.ts";
import { readStore } from "../store/fs-store.ts";
import { ensureDemoStore } from "./demo-store.ts";
import { nodeBundleSource } from "./node-bundle.ts";

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
  /** SQLite file for request metrics; "off" disables them. */
  metricsDb?: string;
  adminKey?: string;
}

export async function startServer(options: ServerOptions) {
  const storeDir = options.store ?? (await ensureDemoStore());
  const store = await readStore(storeDir);
  const entry = encoderEntry(store.encoder.id);
  // Loaded in the background so the port opens at once; text requests wait for it.
  let loading: Promise<Encoder> | undefined;
  const encoder = () => {
    loading ??= entry.load();
    return loading;
  };
  encoder().catch((error) => console.error(`encoder '${entry.id}' failed to load: ${error.message}`));

  const core = await loadCore();
  let exactIndex: VectorIndex;
  try {
    exactIndex = Object.assign(new CoreIndex(core, store), { kind: "exact-core" });
  } catch (error) {
    console.warn(`WASM core search unavailable (${(error as Error).message}); using the TypeScript reference`);
    exactIndex = referenceIndex(store.vectors, store.dim);
  }
  // The store's HNSW index (lvm index build), unless a request asks for `exact`; a bad file only warns.
  const approximateIndex = await loadStoreIndex(core, store, storeDir);
  const models = new ModelRegistry();
  const roots = [SHIPPED_MODELS_DIR, ...(options.modelRoots ?? [])];
  const reloadModels = async () => {
    await loadModels(models, core, roots, store.encoder, { precision: options.precision, preferred: options.model });
  };
  await reloadModels();
  const metrics = options.metricsDb === "off" ? undefined : openNodeMetrics(options.metricsDb ?? DEFAULT_METRICS_PATH);

  const bundle = nodeBundleSource(storeDir, () => new Map(models.list().flatMap((m) => (m.dir ? [[m.name, m.dir]] : []))));
  const publicDir = fileURLToPath(new URL("../../public/", import.meta.url));
  const ortDir = fileURLToPath(new URL("../../node_modules/onnxruntime-web/dist/", import.meta.url));
  const app = createApp({
    store,
    exactIndex,
    approximateIndex,
    encoder,
    models,
    metrics,
    adminKey: options.adminKey,
    reloadModels,
    runtime: "node",
    bundle,
    // The web page (public/, built by npm run build) and onnxruntime-web for its WebGPU path: no CDN.
    extend: (a) => {
      a.use("/ort/*", serveStatic({ root: ortDir, rewriteRequestPath: (p) => p.replace(/^\/ort\//, "") }));
      a.use("/*", serveStatic({ root: publicDir }));
    },
  });
  const server = serve({ fetch: app.fetch, port: options.port, hostname: options.host });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("close", () => void metrics?.close());
  // Buffered metrics rows are written before the process goes (the flush timer alone would lose up to 1 s).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      server.close();
      void (metrics?.close() ?? Promise.resolve()).finally(() => process.exit(0));
    });
  }
  console.log(
    `lvm-edge listening on ${options.host}:${options.port} (store ${storeDir}: ${store.count} concepts, encoder ${store.encoder.id}, index ${approximateIndex?.kind ?? exactIndex.kind}; ` +
      `models: ${models
        .list()
        .map((m) => m.name)
        .join(", ")}; default ${models.defaultName})`,
  );
  return server;
}
