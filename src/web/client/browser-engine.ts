// In-browser mode: the INT8 store, the WASM core's exact index, the models and the sentence encoder, downloaded
// once, as the prediction service's deps, so this page runs the very nextConcepts/generateChain the server runs.
import { WasmCore } from "../../core/wasm-core.ts";
import { USE_LITE_ID } from "../../encoders/use-lite-weights.ts";
import { CoreIndex } from "../../index/core-index.ts";
import { hubnessForStore } from "../../index/hubness.ts";
import { baselineModels } from "../../lvm/baselines.ts";
import { coreModel } from "../../lvm/core-model.ts";
import type { ModelManifest } from "../../lvm/model-format.ts";
import { loadModelFromBytes } from "../../lvm/reference.ts";
import { ModelRegistry } from "../../lvm/registry.ts";
import type { PredictDeps } from "../../predict/types.ts";
import { storeFromBytes } from "../../store/concept-store.ts";
import { BUNDLE_FILES, type BundleFileName } from "../../store/format.ts";
import { client } from "./api.ts";
import { pageEncoder } from "./page-encoder.ts";
import { tryWebGpuRunner } from "./webgpu.ts";

export interface BrowserEngine {
  deps: PredictDeps & { models: ModelRegistry };
  core: WasmCore;
}

let engine: Promise<BrowserEngine> | undefined;

/** True once the download has started (the status line says so the first time). */
export const engineStarted = () => engine !== undefined;

export function browserEngine(): Promise<BrowserEngine> {
  engine ??= loadEngine().catch((error) => {
    engine = undefined; // a failed download is retried by the next click
    throw error;
  });
  return engine;
}

async function storeFile(name: BundleFileName): Promise<ArrayBuffer | string> {
  const res = await client.v1.bundle.store[":file"].$get({ param: { file: name } });
  if (!res.ok) throw new Error(`store file ${name}: HTTP ${res.status}`);
  return name.endsWith(".bin") ? res.arrayBuffer() : res.text();
}

async function loadEngine(): Promise<BrowserEngine> {
  const [core, files] = await Promise.all([
    // Relaxed SIMD where this browser has it, else the plain-SIMD core (same answers up to INT8 rounding).
    WebAssembly.compileStreaming(fetch("/core-relaxed.wasm"))
      .catch(() => WebAssembly.compileStreaming(fetch("/core.wasm")))
      .then((m) => WasmCore.instantiate(m)),
    Promise.all(Object.entries(BUNDLE_FILES).map(async ([file, name]) => [file, await storeFile(name)] as const)),
  ]);
  const store = storeFromBytes(Object.fromEntries(files) as Parameters<typeof storeFromBytes>[0]);
  const index = new CoreIndex(core, store);
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  const deps: BrowserEngine["deps"] = {
    store,
    // The index itself (not a wrapper), so penalised search takes its one-scan path where the core is relaxed.
    exactIndex: Object.assign(index, { kind: "exact-core (browser)" }),
    // The same values the server computes, so both paths rank alike for models with a hubness penalty.
    hubness: hubnessForStore(store, index),
    models,
    // Texts are embedded here too, by USE-lite INT8 on this core (page-encoder.ts): nothing goes to /v1/embed.
    // Only for a USE-lite store; else texts get the service's text_unsupported.
    encoder: store.encoder.id === USE_LITE_ID ? () => pageEncoder(core) : undefined,
  };
  return { deps, core };
}

/** Adds model `name` to the engine's registry (baselines are there already): WebGPU where offered, else the WASM core. */
export async function ensureModel(e: BrowserEngine, name: string): Promise<void> {
  if (e.deps.models.get(name)) return;
  const file = (f: string) => client.v1.bundle.models[":model"][":file"].$get({ param: { model: name, file: f } });
  const [manifestRes, weightsRes] = await Promise.all([file("model.json"), file("weights.bin")]);
  if (!manifestRes.ok || !weightsRes.ok) throw new Error(`model ${name}: HTTP ${manifestRes.ok ? weightsRes.status : manifestRes.status}`);
  // INT8 files are decoded by the same loader as float ones.
  const reference = loadModelFromBytes(
    (await manifestRes.json()) as unknown as ModelManifest,
    new Uint8Array(await weightsRes.arrayBuffer()),
  );
  const gpu = await tryWebGpuRunner(name);
  if (gpu) {
    const { config, manifest } = reference;
    e.deps.models.add({
      name,
      arch: config.arch,
      backend: gpu.backend,
      dim: config.dim,
      encoder: manifest.encoder.id,
      context: config.context,
      description: `${config.arch.toUpperCase()} LVM on WebGPU`,
      ...(reference.hubness ? { hubness: reference.hubness } : {}),
      forward: (contexts) => gpu.forward(contexts),
    });
  } else {
    e.deps.models.add({ ...coreModel(e.core, reference, { name, precision: "int8" }), backend: "wasm-core-int8" });
  }
}
