import { resolveContext } from "./context.ts";
import { decodePredicted, decoderFor } from "./decode-predicted.ts";
import { searchExcluding } from "./nearest.ts";
import { penaltyFor, pickIndex, pickModel } from "./pick.ts";
import type { NextRequest, NextResult, PredictDeps, StageLog } from "./types.ts";

/**
 * The next concepts after a context: resolve the context (vectors and stored rows), run the model once, and
 * return the top-k stored concepts nearest the prediction that are not context rows. `log` receives the
 * model and the stage timings as they run. With `decode`, the decoder also writes text for the predicted vector.
 */
export async function nextConcepts(deps: PredictDeps, request: NextRequest, log: StageLog = {}): Promise<NextResult> {
  const started = performance.now();
  const model = pickModel(deps, request.model);
  Object.assign(log, { model: model.name, k: request.k, backend: model.backend });
  const decoder = await decoderFor(deps, request);
  const context = await resolveContext(deps, request.context, model.context);
  log.embedMs = context.embedMs;
  let t = performance.now();
  const predicted = await model.forward(context.vectors, 1);
  log.lvmMs = performance.now() - t;
  const index = pickIndex(deps, request.exact);
  t = performance.now();
  const results = await searchExcluding(deps.store, index, predicted, request.k, context, new Set(), request.ef, penaltyFor(deps, model));
  log.searchMs = performance.now() - t;
  let decodeMs: number | undefined;
  let generated: NextResult["generated"];
  if (decoder) {
    t = performance.now();
    [generated] = await decodePredicted(decoder, predicted, 1, request.decodeOptions);
    decodeMs = performance.now() - t;
  }
  return {
    model: model.name,
    backend: model.backend,
    index: index.kind,
    results,
    predicted,
    ...(generated ? { generated } : {}),
    timings: { embedMs: log.embedMs, lvmMs: log.lvmMs, searchMs: log.searchMs, decodeMs, totalMs: performance.now() - started },
  };
}
