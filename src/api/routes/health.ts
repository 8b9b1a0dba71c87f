import { createRoute } from "@hono/zod-openapi";
import { modelInfo } from "../../lvm/registry.ts";
import type { AppDeps } from "../deps.ts";
import { ok, router } from "../router.ts";
import { healthResponse, modelsResponse } from "../schemas.ts";

const health = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "health",
  tags: ["service"],
  summary: "Health",
  description: "The store, indexes, model count and metrics state of this deployment.",
  security: [],
  responses: ok(healthResponse),
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
