// The one factory for a model served on the WASM core: the Node entry, the Worker and the page use it.
import type { WasmCore } from "../core/wasm-core.ts";
import { parameterCount } from "./architectures.ts";
import type { ReferenceModel } from "./reference.ts";
import type { LvmModel } from "./registry.ts";
import { CoreLvm, type CorePrecision } from "./runners/core-lvm.ts";

export interface CoreModelOptions {
  name: string;
  precision: CorePrecision;
  /** The model directory (Node), kept for the page's bundle download. */
  dir?: string;
}

export function coreModel(core: WasmCore, model: ReferenceModel, { name, precision, dir }: CoreModelOptions): LvmModel & { lvm: CoreLvm } {
  const lvm = new CoreLvm(core, model, precision);
  const { config, manifest } = model;
  const parameters = parameterCount(config);
  return {
    name,
    arch: config.arch,
    backend: `core-${precision}`,
    dim: config.dim,
    encoder: manifest.encoder.id,
    context: config.context,
    parameters,
    description: `${config.arch.toUpperCase()} LVM (${(parameters / 1e6).toFixed(2)}M parameters) on the WASM core, ${precision.toUpperCase()}`,
    metrics: manifest.metrics,
    ...(model.hubness ? { hubness: model.hubness } : {}),
    dir,
    lvm,
    forward: (contexts, batch) => lvm.forward(contexts, batch),
    dispose: () => lvm.dispose(),
  };
}
