import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, ok, router } from "../router.ts";
import { metricsResponse } from "../schemas.ts";

const metrics = createRoute({
  method: "get",
  path: "/v1/metrics",
  operationId: "getMetrics",
  tags: ["service"],
  summary: "Latency percentiles",
  description: "p50/p95/p99 per endpoint and stage (embed, lvm, search, total) over the last `window` minutes.",
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
  responses: { ...ok(metricsResponse), ...errorResponses(400, 503) },
});

export function metricsRoutes(deps: AppDeps) {
  return router().openapi(metrics, async (c) => {
    if (!deps.metrics) throw new ApiError(503, "metrics_off", "this deployment records no metrics");
    const { window } = c.req.valid("query");
    const summary = await deps.metrics.summary({ windowMs: window * 60_000 }).catch((error: Error) => {
      throw new ApiError(503, "metrics_unavailable", `metrics database unavailable: ${error.message}`);
    });
    return c.json({ ...summary, health: deps.metrics.health() }, 200);
  });
}
