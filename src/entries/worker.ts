// Cloudflare Worker entry: the same Hono app over the bundled demo store (INT8 vectors) and edge model,
// on the WASM core imported as a module (Workers forbid compiling wasm from bytes). Vector input only:
// the USE-lite encoder needs TF.js's WASM backend, which compiles wasm from bytes at run time.

import type { ExecutionContext } from "hono";
import coreModule from "../../wasm/build/core.wasm";
import coreRelaxedModule from "../../wasm/build/core-relaxed.wasm";
import { model as bundledModel, storeFiles } from "../../worker-assets/index.ts";
import { type BundleSource, createApp } from "../api/app.ts";
import { WasmCore } from "../core/wasm-core.ts";
import { openD1Metrics } from "../db/d1.ts";
import type { MetricsRecorder } from "../db/metrics.ts";
import { CoreIndex } from "../index/core-index.ts";
import { addBaselines } from "../lvm/baselines.ts";
import { coreModel } from "../lvm/core-model.ts";
import type { ModelManifest } from "../lvm/model-format.ts";
import { loadModelFromBytes } from "../lvm/reference.ts";
import { ModelRegistry } from "../lvm/registry.ts";
import { storeFromBytes } from "../store/concept-store.ts";
import { BUNDLE_FILES, type BundleFile } from "../store/format.ts";

interface Env {
  DB?: Parameters<typeof openD1Metrics>[0];
  LVM_ADMIN_KEY?: string;
}

interface Instance {
  app: ReturnType<typeof createApp>;
  metrics?: MetricsRecorder;
}

let instance: Promise<Instance> | undefined;

async function build(env: Env): Promise<Instance> {
  // Relaxed SIMD where this runtime has it (workerd does), the plain-SIMD build otherwise.
  const core = await WasmCore.instantiate(coreRelaxedModule).catch(() => WasmCore.instantiate(coreModule));
  const store = storeFromBytes(storeFiles);
  const exactIndex = Object.assign(new CoreIndex(core, store), { kind: "exact-core" });
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
  const app = createApp({ store, exactIndex, models, metrics, adminKey: env.LVM_ADMIN_KEY, runtime: "worker", bundle });
  return { app, metrics };
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    instance ??= build(env).catch((error) => {
      instance = undefined;
      throw error;
    });
    const { app, metrics } = await instance;
    const response = await app.fetch(request, env, ctx);
    // Timers do not outlive a Worker request: write this request's metrics row after responding.
    if (metrics) ctx.waitUntil(metrics.flush());
    return response;
  },
};
