// Node adapter: the models served by the API, read from model directories (models/<name>/model.json).
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WasmCore } from "../core/wasm-core.ts";
import type { EncoderRef } from "../store/format.ts";
import { addBaselines } from "./baselines.ts";
import { coreModel } from "./core-model.ts";
import { readModel } from "./read-model.ts";
import type { ModelRegistry } from "./registry.ts";
import type { CorePrecision } from "./runners/core-lvm.ts";

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
  options: { precision?: CorePrecision; preferred?: string; warn?: (message: string) => void } = {},
): Promise<ModelRegistry> {
  registry.clear();
  const warn = options.warn ?? ((m: string) => console.warn(m));
  for (const root of roots) {
    for (const dir of await modelDirs(root)) {
      try {
        const model = coreModel(core, await readModel(dir), { name: basename(dir), precision: options.precision ?? "int8", dir });
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
