import type { MiddlewareHandler } from "hono";
import type { AppDeps, Env } from "../deps.ts";

/** Every API request becomes one metrics row; recording only buffers, so it never delays or fails the response. */
export function recordMetrics(deps: Pick<AppDeps, "metrics" | "runtime">): MiddlewareHandler<Env> {
  return async (c, next) => {
    const ts = Date.now();
    const started = performance.now();
    c.set("log", {});
    await next();
    // API requests only: page assets and health checks would drown the figures.
    if (!deps.metrics || !c.req.path.startsWith("/v1/")) return;
    const log = c.get("log");
    deps.metrics.record({
      ts,
      endpoint: `${c.req.method} ${c.req.routePath === "/*" ? c.req.path : c.req.routePath}`,
      model: log.model ?? null,
      k: log.k ?? null,
      status: c.res.status,
      embedMs: log.embedMs ?? null,
      lvmMs: log.lvmMs ?? null,
      searchMs: log.searchMs ?? null,
      totalMs: performance.now() - started,
      runtime: deps.runtime,
      backend: log.backend ?? null,
    });
  };
}
