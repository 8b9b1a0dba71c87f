// `lvm tune`: chooses a trained model's last-context blend and hubness penalty again on its saved validation
// split (the same windows and criterion as the end of `lvm train`), and rewrites model.json. weights.bin is
// not touched (copied unchanged to another --out), so the manifest's `weights` record still holds.
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createRetrievalIndex, storeHubnessTf } from "../eval/retrieval.ts";
import { removeTempFiles, writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { acquireWriteLock } from "../fs/write-lock-node.ts";
import { HUBNESS_NEIGHBOURS } from "../index/hubness.ts";
import { type HubnessSettings, type ModelManifest, parseModelManifest } from "../lvm/model-format.ts";
import { readModel } from "../lvm/read-model.ts";
import { initLvmBackend } from "../lvm/tf-backend.ts";
import { tfPredict, toTfParams } from "../lvm/tf-model.ts";
import { documentsForEvaluation, evenSample, predictWindows, storeChangeSinceSplit, windowTargets } from "../lvm/windows.ts";
import { readStore } from "../store/fs-store.ts";
import { DEFAULT_BLEND_GRID, DEFAULT_HUBNESS_GRID } from "./options.ts";
import { type BlendSweepEntry, chooseBlend, retrievalSettings } from "./validate.ts";

export interface TuneOptions {
  model: string;
  store: string;
  /** Where to write the tuned model (default: the model directory itself). */
  out?: string;
  blendGrid?: number[];
  hubnessGrid?: number[];
  /** Cap on validation windows (default: the cap the model was trained with, from model.json). */
  maxValWindows?: number;
  log?: (line: string) => void;
}

export interface TuneResult {
  out: string;
  valWindows: number;
  before: { lastWeight: number; hubness: HubnessSettings | null };
  lastWeight: number;
  hubnessWeight: number;
  score: number;
  sweep: BlendSweepEntry[];
  /** Seconds for the hub values of the store and for the sweep. */
  seconds: { hubness: number; sweep: number };
}

/** Why `manifest` cannot be tuned on `store` (null when it can): the validation windows must be the training run's. */
function notTrainingStore(manifest: ModelManifest, store: Awaited<ReturnType<typeof readStore>>, storeDir: string): string | null {
  if (manifest.encoder.id !== store.encoder.id || manifest.encoder.dim !== store.dim)
    return `the model was trained on ${manifest.encoder.id}/${manifest.encoder.dim} vectors, ${storeDir} holds ${store.encoder.id}/${store.dim}`;
  if (!documentsForEvaluation(store, manifest.split, "val").sameStore)
    return `${storeDir} holds none of the model's validation documents (not its training store)`;
  return storeChangeSinceSplit(store, manifest.split);
}

export async function tune(options: TuneOptions): Promise<TuneResult> {
  const log = options.log ?? (() => {});
  await initLvmBackend();
  // INT8 files (`lvm quantize`) are read as their dequantized float weights: the sweep runs them on TF.js.
  const model = await readModel(options.model);
  const { manifest, config } = model;
  const store = await readStore(options.store);
  const refused = notTrainingStore(manifest, store, options.store);
  if (refused) throw new Error(`cannot tune ${options.model} on ${options.store}: ${refused}`);
  const { context } = config;
  const trained = manifest.training as { options?: { maxValWindows?: number } };
  const maxVal = options.maxValWindows ?? trained.options?.maxValWindows ?? 0;
  const { documents } = documentsForEvaluation(store, manifest.split, "val");
  const targets = evenSample(windowTargets(store, documents, context), maxVal);
  if (targets.length === 0) throw new Error(`${options.model}: no validation windows in ${options.store}`);
  log(`${targets.length} validation windows from ${documents.length} documents`);

  const index = createRetrievalIndex(store.vectors, store.dim);
  const params = toTfParams(model.tensors);
  let chosen: ReturnType<typeof chooseBlend>;
  const seconds = { hubness: 0, sweep: 0 };
  try {
    const predictions = predictWindows(store, targets, context, (contexts, batch) => tfPredict(params, config, contexts, batch, 0));
    let started = performance.now();
    const hubness = storeHubnessTf(index, store.vectors, HUBNESS_NEIGHBOURS);
    seconds.hubness = (performance.now() - started) / 1000;
    log(`hub values of ${store.count} concepts (${HUBNESS_NEIGHBOURS} neighbours): ${seconds.hubness.toFixed(1)}s`);
    started = performance.now();
    const grid = options.blendGrid ?? DEFAULT_BLEND_GRID;
    chosen = chooseBlend(store, index, predictions, targets, context, grid, {
      values: hubness,
      grid: options.hubnessGrid ?? DEFAULT_HUBNESS_GRID,
    });
    seconds.sweep = (performance.now() - started) / 1000;
  } finally {
    for (const t of params.values()) t.dispose();
    index.dispose();
  }

  // Every field of model.json is kept as written (a quantized file's too); only the choices are replaced.
  const raw = JSON.parse(await readFile(join(options.model, "model.json"), "utf8")) as Record<string, unknown>;
  const { retrieval: _old, ...rest } = raw;
  const tuned = {
    ...rest,
    blend: { lastWeight: chosen.lastWeight },
    ...retrievalSettings(chosen.hubnessWeight),
    training: {
      ...(raw.training as Record<string, unknown>),
      blendSweep: chosen.sweep,
      tuned: {
        at: new Date().toISOString(),
        store: options.store,
        valWindows: targets.length,
        before: { lastWeight: model.lastWeight, hubness: model.hubness ?? null },
      },
    },
  };
  const text = `${JSON.stringify(tuned, null, 1)}\n`;
  const out = options.out ?? options.model;
  parseModelManifest(text, join(out, "model.json")); // the file we write must read back
  await mkdir(out, { recursive: true });
  // One writer per model directory; model.json is renamed last, so it never describes other weights.
  await using _lock = await acquireWriteLock(out, { command: "lvm tune" });
  await removeTempFiles(out);
  // Another --out gets the same weights.bin bytes, renamed before model.json (the commit point).
  const weights =
    resolve(out) === resolve(options.model) ? [] : [{ name: "weights.bin", data: await readFile(join(options.model, "weights.bin")) }];
  await writeFilesAtomic(out, [...weights, { name: "model.json", data: text }]);
  return {
    out,
    valWindows: targets.length,
    before: { lastWeight: model.lastWeight, hubness: model.hubness ?? null },
    lastWeight: chosen.lastWeight,
    hubnessWeight: chosen.hubnessWeight,
    score: chosen.score,
    sweep: chosen.sweep,
    seconds,
  };
}
