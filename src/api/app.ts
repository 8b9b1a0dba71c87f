// The HTTP API: one typed app chained from the route files (src/api/routes/), each handler validate ->
// one service call (src/predict/) -> respond. The OpenAPI document is generated from the same routes.
import type { AppDeps } from "./deps.ts";
import { documentAccess } from "./middleware/access-docs.ts";
import { requireApiKey } from "./middleware/api-keys.ts";
import { limitBody } from "./middleware/body-limit.ts";
import { corsFor } from "./middleware/cors.ts";
import { notFound, onError } from "./middleware/errors.ts";
import { recordMetrics } from "./middleware/metrics.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { router } from "./router.ts";
import { adminRoutes } from "./routes/admin.ts";
import { bundleRoutes } from "./routes/bundle.ts";
import { docRoutes } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { predictRoutes } from "./routes/predict.ts";
import { searchRoutes } from "./routes/search.ts";
import { storeRoutes } from "./routes/store.ts";

export type { AppDeps, BundleSource, Env, MetricsSink, RateLimit, RateLimiter } from "./deps.ts";

/** The documented routes outside /v1/*, which the rate limit covers too (not the page's static files). */
const SERVICE_PATHS = ["/healthz", "/openapi.json", "/docs"];

export function createApp(deps: AppDeps) {
  const root = router();
  root.onError(onError);
  root.notFound(notFound);
  root.use("*", recordMetrics(deps));
  // Access, in this order: CORS answers preflights, then the API key, the rate limit, the body size.
  if (deps.corsOrigins?.length) root.use("*", corsFor(deps.corsOrigins));
  if (deps.apiKeys?.length) root.use("/v1/*", requireApiKey(deps.apiKeys));
  if (deps.rateLimit) {
    const limit = rateLimit(deps.rateLimit);
    for (const path of ["/v1/*", ...SERVICE_PATHS]) root.use(path, limit);
  }
  root.use("/v1/*", limitBody);
  const app = root
    .route("/", healthRoutes(deps))
    .route("/", storeRoutes(deps))
    .route("/", bundleRoutes(deps))
    .route("/", searchRoutes(deps))
    .route("/", predictRoutes(deps))
    .route("/", metricsRoutes(deps))
    .route("/v1/admin", adminRoutes(deps));
  const documented = docRoutes(app, deps);
  documentAccess(documented);
  deps.extend?.(documented);
  return documented;
}

/** The app's routes and their request/response types, for `hc<AppType>` (hono/client). */
export type AppType = ReturnType<typeof createApp>;
