// Node adapter: the models served by the API, read from model directories (models/<name>/model.json).
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WasmCore } from "../core/wasm-core.ts";
import type { EncoderRef } from "../store/format.ts";
import { parameterCount } from "./architectures.ts";
import { addBaselines } from "./baselines.ts";
import { coreModel } from "./core-model.ts";
import { readModel } from "./read-model.ts";
import type { ReferenceModel } from "./reference.ts";
import type { LvmModel, ModelRegistry } from "./registry.ts";
import type { CorePrecision } from "./runners/core-lvm.ts";
import { openRunner } from "./runners/select-node.ts";
import type { BackendName } from "./runners/types.ts";

export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

/** Model directories directly under `root` (those holding a model.json). */
export async function modelDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const dirs: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = join(root, e.name);
    if (
      await stat(join(dir, "model.json")).then(
        () => true,
        () => false,
      )
    )
      dirs.push(dir);
  }
  return dirs.sort();
}

/**
 * Fills `registry` with every model under `roots` whose encoder matches the store, plus the baselines.
 * The default is `preferred` when present, else the first trained model, else copy-last.
 */
export async function loadModels(
  registry: ModelRegistry,
  core: WasmCore,
  roots: string[],
  store: EncoderRef,
  options: {
    precision?: CorePrecision;
    preferred?: string;
    warn?: (message: string) => void;
    /** Where `auto` says what it chose (default console.log). */
    log?: (message: string) => void;
    /** A runner backend (src/lvm/runners/select-node.ts) instead of the core at `precision`; GPU warnings go to `warn`, once each. */
    backend?: BackendName;
  } = {},
): Promise<ModelRegistry> {
  registry.clear();
  const seen = new Set<string>();
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const warnOnce = (m: string) => {
    if (!seen.has(m)) warn(m);
    seen.add(m);
  };
  for (const root of roots) {
    for (const dir of await modelDirs(root)) {
      try {
        const reference = await readModel(dir);
        const precision = options.precision ?? "int8";
        const model =
          options.backend && options.backend !== "core" && options.backend !== "core-f32"
            ? await runnerModel(reference, dir, options.backend, precision, warnOnce, options.log ?? ((m) => console.log(m)))
            : coreModel(core, reference, { name: basename(dir), precision: options.backend === "core-f32" ? "f32" : precision, dir });
        if (model.encoder !== store.id || model.dim !== store.dim) {
          warn(
            `model ${dir} was trained on encoder '${model.encoder}' (dim ${model.dim}), the store uses '${store.id}' (dim ${store.dim}): not served`,
          );
          model.dispose?.();
          continue;
        }
        registry.add(model, { isDefault: model.name === options.preferred });
      } catch (error) {
        warn(`model ${dir} could not be loaded: ${(error as Error).message}`);
      }
    }
  }
  addBaselines(registry, store.dim, store.id);
  return registry;
}

/** A model served through a runner backend; its `backend` names the runner answering now (the core after a GPU fallback). */
async function runnerModel(
  reference: ReferenceModel,
  dir: string,
  backend: BackendName,
  precision: CorePrecision,
  warn: (message: string) => void,
  log: (message: string) => void,
): Promise<LvmModel> {
  const { runner, warning, detail } = await openRunner(dir, backend, {
    model: reference,
    fallback: precision === "f32" ? "core-f32" : "core",
    onWarning: warn,
  });
  if (warning) warn(warning);
  else if (detail) log(`${basename(dir)}: ${detail}`);
  const { config, manifest } = reference;
  const parameters = parameterCount(config);
  return {
    name: basename(dir),
    arch: config.arch,
    get backend() {
      return runner.id;
    },
    dim: config.dim,
    encoder: manifest.encoder.id,
    context: config.context,
    parameters,
    description: `${config.arch.toUpperCase()} LVM (${(parameters / 1e6).toFixed(2)}M parameters) on ${runner.id}`,
    metrics: manifest.metrics,
    dir,
    forward: (contexts, batch) => runner.forward(contexts, batch),
    dispose: () => runner.dispose(),
  };
}
