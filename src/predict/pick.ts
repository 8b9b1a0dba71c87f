import type { HubnessPenalty } from "../index/hubness.ts";
import type { LvmModel } from "../lvm/registry.ts";
import { RequestError } from "./errors.ts";
import type { PredictDeps, SearchIndex } from "./types.ts";

/** The named model (else the default), checked against the store's dim. */
export function pickModel(deps: PredictDeps, name: string | undefined): LvmModel {
  const wanted = name ?? deps.models.defaultName;
  const model = wanted ? deps.models.get(wanted) : undefined;
  if (!model) {
    const known = deps.models.list().map((m) => m.name);
    throw new RequestError(404, "unknown_model", `no model '${wanted}' (available: ${known.join(", ") || "none"})`, "model");
  }
  if (model.dim !== deps.store.dim)
    throw new RequestError(400, "model_store_mismatch", `model '${model.name}' has dim ${model.dim}, the store ${deps.store.dim}`, "model");
  return model;
}

/** The approximate index unless the request asks for exact search or there is none. */
export function pickIndex(deps: PredictDeps, exact: boolean | undefined): SearchIndex {
  return exact || !deps.approximateIndex ? deps.exactIndex : deps.approximateIndex;
}

/**
 * The model's hubness penalty over the store's values, when the model has one and the runtime computed the
 * store's values with the same neighbour count (else plain cosine: `penaltyFor` returns undefined).
 */
export function penaltyFor(deps: PredictDeps, model: LvmModel): HubnessPenalty | undefined {
  const settings = model.hubness;
  const hubness = deps.hubness;
  if (!settings || settings.weight === 0 || !hubness || hubness.neighbours !== settings.neighbours) return undefined;
  return { hubness, weight: settings.weight };
}
