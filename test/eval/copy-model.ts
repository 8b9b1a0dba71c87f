// The eval tests' model that predicts exactly copy-last: an untrained residual GRU (hidden 8) with a zero head
// and blend 0, split like the store's default (seed 1). `extra` adds manifest fields (e.g. retrieval.hubness).
// writeTinyGru: the same small model from any seed, for tests that need a model that is not copy-last.
import { initTensors, presetConfig } from "../../src/lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION, type ModelManifest } from "../../src/lvm/model-format.ts";
import { writeModel } from "../../src/lvm/read-model.ts";
import { splitDocuments, splitRecord } from "../../src/lvm/windows.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";

export async function writeCopyLastModel(dir: string, store: ConceptStore, extra: Partial<ModelManifest> = {}): Promise<void> {
  await writeTinyGru(dir, store, { seed: 1, zeroHead: true, extra });
}

/**
 * A residual GRU (hidden 8, or `hidden`) from seed `seed`, split like the store's default (seed 1) unless `extra`
 * gives a split; `zeroHead`: predicts copy-last.
 */
export async function writeTinyGru(
  dir: string,
  store: ConceptStore,
  options: { seed: number; hidden?: number; zeroHead?: boolean; extra?: Partial<ModelManifest> },
): Promise<void> {
  const config = { ...presetConfig("gru-edge", 512), hidden: options.hidden ?? 8 };
  const tensors = initTensors(config, options.seed);
  if (options.zeroHead) tensors.get("head.w")?.data.fill(0);
  await writeModel(
    dir,
    {
      format: MODEL_FORMAT,
      version: MODEL_VERSION,
      arch: "gru",
      config,
      encoder: { id: store.encoder.id, dim: store.dim },
      training: {},
      split: splitRecord(store, splitDocuments(store.documents.length, 1), 1),
      ...options.extra,
    },
    tensors,
  );
}
