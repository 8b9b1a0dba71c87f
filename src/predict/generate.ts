import { dot } from "../math/vectors.ts";
import { resolveContext } from "./context.ts";
import { decodePredicted, decoderFor } from "./decode-predicted.ts";
import { searchExcluding } from "./nearest.ts";
import { penaltyFor, pickIndex, pickModel } from "./pick.ts";
import type { GenerateRequest, GenerateResult, PredictDeps, StageLog } from "./types.ts";

/**
 * A chain of concepts: predict, retrieve the nearest stored concept that is neither a context row nor
 * already in the chain, slide the window by it, repeat. Stops after `steps`, when consecutive predictions
 * have cosine above `stopCosine` ("degenerate"), or when no row is left ("exhausted"). With `decode`, the decoder
 * also writes text for each step's predicted vector, after the chain (one decode call).
 */
export async function generateChain(deps: PredictDeps, request: GenerateRequest, log: StageLog = {}): Promise<GenerateResult> {
  const started = performance.now();
  const { store } = deps;
  const model = pickModel(deps, request.model);
  Object.assign(log, { model: model.name, backend: model.backend });
  const decoder = await decoderFor(deps, request);
  const context = await resolveContext(deps, request.context, model.context);
  log.embedMs = context.embedMs;
  log.lvmMs = 0;
  log.searchMs = 0;
  const dim = store.dim;
  const window = context.vectors;
  const used = new Set<number>(); // every row the chain has taken
  const steps: GenerateResult["steps"] = [];
  const predictions: Float32Array[] = []; // each step's predicted vector, for the decoder
  let previous: Float32Array | undefined;
  let stopped: GenerateResult["stopped"] = "steps";
  const index = pickIndex(deps, request.exact);
  const penalty = penaltyFor(deps, model);
  for (let s = 0; s < request.steps; s++) {
    let t = performance.now();
    const predicted = await model.forward(window, 1);
    log.lvmMs += performance.now() - t;
    const cosineToPrevious = previous ? dot(predicted, previous) : null;
    if (cosineToPrevious !== null && cosineToPrevious > request.stopCosine) {
      stopped = "degenerate";
      break;
    }
    t = performance.now();
    const [pick] = await searchExcluding(store, index, predicted, 1, context, used, request.ef, penalty);
    log.searchMs += performance.now() - t;
    if (!pick) {
      stopped = "exhausted";
      break;
    }
    steps.push({ ...pick, cosineToPrevious });
    predictions.push(predicted.slice());
    used.add(pick.row);
    // Feed the retrieved concept back: the window slides by one.
    window.copyWithin(0, dim);
    window.set(store.vector(pick.row), (model.context - 1) * dim);
    previous = predicted;
  }
  let decodeMs: number | undefined;
  if (decoder && steps.length > 0) {
    const t = performance.now();
    const vectors = new Float32Array(steps.length * dim);
    for (const [i, p] of predictions.entries()) vectors.set(p, i * dim);
    const texts = await decodePredicted(decoder, vectors, steps.length, request.decodeOptions);
    for (const [i, step] of steps.entries()) step.generated = texts[i];
    decodeMs = performance.now() - t;
  }
  return {
    model: model.name,
    backend: model.backend,
    steps,
    stopped,
    timings: { embedMs: log.embedMs, lvmMs: log.lvmMs, searchMs: log.searchMs, decodeMs, totalMs: performance.now() - started },
  };
}
