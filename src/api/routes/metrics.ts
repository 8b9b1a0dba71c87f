import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, ok, router } from "../router.ts";
import { metricsResponse } from "../schemas.ts";

/** The embedding cache's counters since the process (isolate) started. */
const embedCacheStats = z
  .object({
    storedHits: z.number().int().openapi({ description: "texts equal to a stored concept's text: its stored vector was used" }),
    lruHits: z.number().int().openapi({ description: "texts answered by the LRU of recent texts" }),
    misses: z.number().int().openapi({ description: "texts the encoder embedded" }),
    hitRate: z.number().openapi({ description: "(storedHits + lruHits) / all texts; 0 before the first text" }),
    entries: z.number().int(),
    bytes: z.number().int(),
    maxEntries: z.number().int(),
    maxBytes: z.number().int(),
  })
  .openapi("EmbedCacheStats");

const metricsWithCache = metricsResponse
  .extend({ embedCache: embedCacheStats.optional().openapi({ description: "absent where the runtime has no encoder cache" }) })
  .openapi("Metrics");

const metrics = createRoute({
  method: "get",
  path: "/v1/metrics",
  operationId: "getMetrics",
  tags: ["service"],
  summary: "Latency percentiles",
  description:
    "p50/p95/p99 per endpoint and stage (embed, lvm, search, total) over the last `window` minutes, and the embedding cache's hit counts.",
  security: [],
  request: {
    query: z.object({
      window: z.coerce
        .number()
        .positive("must be a positive number of minutes")
        .default(60)
        .openapi({ param: { name: "window", in: "query", description: "minutes (default 60)" }, example: 15 }),
    }),
  },
  responses: { ...ok(metricsWithCache), ...errorResponses(400, 503) },
});

export function metricsRoutes(deps: AppDeps) {
  return router().openapi(metrics, async (c) => {
    if (!deps.metrics) throw new ApiError(503, "metrics_off", "this deployment records no metrics");
    const { window } = c.req.valid("query");
    const summary = await deps.metrics.summary({ windowMs: window * 60_000 }).catch((error: Error) => {
      throw new ApiError(503, "metrics_unavailable", `metrics database unavailable: ${error.message}`);
    });
    return c.json({ ...summary, health: deps.metrics.health(), embedCache: cacheStats(deps) }, 200);
  });
}

function cacheStats(deps: AppDeps) {
  if (!deps.embedCache) return undefined;
  const stats = deps.embedCache.stats();
  const texts = stats.storedHits + stats.lruHits + stats.misses;
  return { ...stats, hitRate: texts === 0 ? 0 : (stats.storedHits + stats.lruHits) / texts };
}
