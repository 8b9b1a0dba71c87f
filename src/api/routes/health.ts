import { createRoute, z } from "@hono/zod-openapi";
import { type ModelRegistry, modelInfo } from "../../lvm/registry.ts";
import type { AppDeps } from "../deps.ts";
import { ok, router } from "../router.ts";
import { healthResponse, modelsResponse } from "../schemas.ts";

/** Which engine runs the models and why (src/lvm/load-models-node.ts sets it on Node; null elsewhere). */
const engineHealth = z
  .object({
    requested: z.string().openapi({ description: "The backend asked for: auto (the default) or a forced one (--backend)." }),
    models: z.array(
      z.object({
        name: z.string(),
        backend: z.string().openapi({ description: "The runner answering now (the core after a fallback)." }),
        reason: z.string().openapi({ description: "Why: auto's startup probe, a forced backend, or the fallback that happened." }),
      }),
    ),
    microBatching: z
      .object({
        windowMs: z.number(),
        maxBatch: z.number().int(),
        calls: z.number().int().openapi({ description: "Forward calls through the batchers since the models were loaded." }),
        modelCalls: z.number().int().openapi({ description: "Model calls made for them (calls / modelCalls = mean batch)." }),
        largestBatch: z.number().int(),
      })
      .nullable()
      .openapi({ description: "Concurrent forward calls within windowMs share one model call; null: off." }),
    warnings: z.array(z.string()).openapi({ description: "Fallbacks so far (a GPU that failed, an engine that could not load)." }),
  })
  .nullable()
  .openapi("EngineHealth");

// A new object over the shared fields (not .extend, whose allOf would point "Health" at itself).
const healthWithEngine = z.object({ ...healthResponse.shape, engine: engineHealth }).openapi("Health");

function engineOf(models: ModelRegistry): z.infer<typeof engineHealth> {
  const engine = models.engine;
  if (!engine) return null;
  return {
    requested: engine.requested,
    models: models
      .list()
      .filter((m) => m.arch !== "baseline")
      .map((m) => ({ name: m.name, backend: m.backend, reason: engine.reasons[m.name] ?? engine.requested })),
    microBatching: engine.microBatching
      ? { windowMs: engine.microBatching.windowMs, maxBatch: engine.microBatching.maxBatch, ...engine.microBatching.stats() }
      : null,
    warnings: [...engine.warnings],
  };
}

const health = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "health",
  tags: ["service"],
  summary: "Health",
  description: "The store, indexes, model count, metrics state and model engine of this deployment.",
  security: [],
  responses: ok(healthWithEngine),
});

const models = createRoute({
  method: "get",
  path: "/v1/models",
  operationId: "listModels",
  tags: ["predict"],
  summary: "List the models",
  description: "Trained LVMs and the copy-last / mean-context baselines, with the default.",
  security: [],
  responses: ok(modelsResponse),
});

export function healthRoutes(deps: AppDeps) {
  const { store } = deps;
  return router()
    .openapi(health, (c) =>
      c.json(
        {
          status: "ok" as const,
          version: deps.version,
          runtime: deps.runtime,
          store: { concepts: store.count, documents: store.documents.length, encoder: store.encoder },
          index: deps.exactIndex.kind,
          approximateIndex: deps.approximateIndex?.kind ?? null,
          models: deps.models.list().length,
          metrics: deps.metrics?.health().state ?? "off",
          decoder: deps.decoder !== undefined,
          engine: engineOf(deps.models),
        },
        200,
      ),
    )
    .openapi(models, (c) =>
      c.json(
        {
          default: deps.models.defaultName,
          models: deps.models.list().map((m) => ({ ...modelInfo(m), default: m.name === deps.models.defaultName })),
        },
        200,
      ),
    );
}
