// Node adapter: the models served by the API, read from model directories (models/<name>/model.json).
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WasmCore } from "../core/wasm-core.ts";
import type { EncoderRef } from "../store/format.ts";
import { parameterCount } from "./architectures.ts";
import { addBaselines } from "./baselines.ts";
import { coreModel } from "./core-model.ts";
import { MODEL_FORMAT } from "./model-format.ts";
import { readModel } from "./read-model.ts";
import type { ReferenceModel } from "./reference.ts";
import type { EngineStatus, LvmModel, ModelRegistry } from "./registry.ts";
import type { CorePrecision } from "./runners/core-lvm.ts";
import { MicroBatcher, type MicroBatchStats } from "./runners/micro-batch.ts";
import { openRunner } from "./runners/select-node.ts";
import type { BackendName } from "./runners/types.ts";

/** Micro-batching of the served models' forward calls (src/lvm/runners/micro-batch.ts); windowMs 0 turns it off. */
export interface MicroBatchSetting {
  windowMs: number;
  maxBatch: number;
}

export const SHIPPED_MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

/**
 * Model directories directly under `root`: those holding a model.json that is not another file format. A model.json
 * naming another `format` (models/decoder/ holds the vector-to-text decoder's, "lvm-edge-decoder") is not an LVM and
 * is skipped; an unreadable or malformed one is kept, so that loading it says what is wrong.
 */
export async function modelDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const dirs: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = join(root, e.name);
    const json = await readFile(join(dir, "model.json"), "utf8").catch(() => undefined);
    if (json !== undefined && !isOtherFormat(json)) dirs.push(dir);
  }
  return dirs.sort();
}

/** Whether a model.json's text parses to an object whose `format` is a string other than the LVM's. */
function isOtherFormat(json: string): boolean {
  try {
    const format = (JSON.parse(json) as { format?: unknown } | null)?.format;
    return typeof format === "string" && format !== MODEL_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Fills `registry` with every model under `roots` whose encoder matches the store, plus the baselines.
 * The default is `preferred` when present, else the first trained model, else copy-last.
 * `registry.engine` says which engine each model runs on and why, the micro-batching setting and the warnings.
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
    /**
     * A runner backend (src/lvm/runners/select-node.ts; "auto" times the engines that load and keeps the fastest)
     * instead of the core at `precision`; fallback warnings go to `warn`, once each, and to registry.engine.
     */
    backend?: BackendName;
    /** Concurrent forward calls share one model call (default: off). */
    microBatch?: MicroBatchSetting;
  } = {},
): Promise<ModelRegistry> {
  registry.clear();
  const seen = new Set<string>();
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const batching = options.microBatch && options.microBatch.windowMs > 0 ? options.microBatch : undefined;
  const batchers: MicroBatcher[] = [];
  const engine: EngineStatus = {
    requested: options.backend ?? (options.precision === "f32" ? "core-f32" : "core"),
    reasons: {},
    microBatching: batching ? { ...batching, stats: () => sumStats(batchers.map((b) => b.stats)) } : null,
    warnings: [],
  };
  const warnOnce = (m: string) => {
    if (!seen.has(m)) {
      warn(m);
      engine.warnings.push(m);
    }
    seen.add(m);
  };
  // Batches form at the batcher's size, so `auto` compares the engines there (batch 1 without batching).
  const probeBatch = batching ? Math.min(32, batching.maxBatch) : 1;
  for (const root of roots) {
    for (const dir of await modelDirs(root)) {
      try {
        const reference = await readModel(dir);
        const precision = options.precision ?? "int8";
        const name = basename(dir);
        let model: LvmModel;
        if (options.backend && options.backend !== "core" && options.backend !== "core-f32") {
          const opened = await runnerModel(reference, dir, options.backend, precision, probeBatch, warnOnce);
          model = opened.model;
          engine.reasons[name] = opened.reason;
          if (opened.reason.startsWith("auto:")) (options.log ?? ((m) => console.log(m)))(`${name}: ${opened.reason}`);
        } else {
          model = coreModel(core, reference, { name, precision: options.backend === "core-f32" ? "f32" : precision, dir });
          engine.reasons[name] = `forced (${options.backend ? `backend ${options.backend}` : `precision ${precision}`})`;
        }
        if (batching) {
          const inner = model;
          const batcher = new MicroBatcher((c, b) => inner.forward(c, b), { ...batching, rowValues: inner.context * inner.dim });
          batchers.push(batcher);
          model = withForward(model, (c, b) => batcher.forward(c, b));
        }
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
  registry.engine = engine;
  return registry;
}

function sumStats(all: MicroBatchStats[]): MicroBatchStats {
  return {
    calls: all.reduce((n, s) => n + s.calls, 0),
    modelCalls: all.reduce((n, s) => n + s.modelCalls, 0),
    largestBatch: all.reduce((n, s) => Math.max(n, s.largestBatch), 0),
  };
}

/** The same model (its getters kept: `backend` follows a fallback) with another forward. */
function withForward(model: LvmModel, forward: LvmModel["forward"]): LvmModel {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(model)) as LvmModel;
  copy.forward = forward;
  return copy;
}

/** A model served through a runner backend; its `backend` names the runner answering now (the core after a GPU fallback). */
async function runnerModel(
  reference: ReferenceModel,
  dir: string,
  backend: BackendName,
  precision: CorePrecision,
  probeBatch: number,
  warn: (message: string) => void,
): Promise<{ model: LvmModel; reason: string }> {
  const { runner, warning, detail } = await openRunner(dir, backend, {
    model: reference,
    fallback: precision === "f32" ? "core-f32" : "core",
    onWarning: warn,
    probe: { batch: probeBatch },
  });
  if (warning) warn(warning);
  const reason = detail ?? warning ?? `forced (backend ${backend})`;
  const { config, manifest } = reference;
  const parameters = parameterCount(config);
  const model: LvmModel = {
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
    ...(reference.hubness ? { hubness: reference.hubness } : {}),
    dir,
    forward: (contexts, batch) => runner.forward(contexts, batch),
    dispose: () => runner.dispose(),
  };
  return { model, reason };
}
