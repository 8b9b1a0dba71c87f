// The HTTP API: one typed app chained from the route files (src/api/routes/), each handler validate ->
// one service call (src/predict/) -> respond. The OpenAPI document is generated from the same routes.
import type { AppDeps } from "./deps.ts";
import { limitBody } from "./middleware/body-limit.ts";
import { notFound, onError } from "./middleware/errors.ts";
import { recordMetrics } from "./middleware/metrics.ts";
import { router } from "./router.ts";
import { adminRoutes } from "./routes/admin.ts";
import { bundleRoutes } from "./routes/bundle.ts";
import { docRoutes } from "./routes/docs.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { predictRoutes } from "./routes/predict.ts";
import { searchRoutes } from "./routes/search.ts";
import { storeRoutes } from "./routes/store.ts";

export type { AppDeps, BundleSource, Env, MetricsSink } from "./deps.ts";

export function createApp(deps: AppDeps) {
  const root = router();
  root.onError(onError);
  root.notFound(notFound);
  root.use("*", recordMetrics(deps));
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
  deps.extend?.(documented);
  return documented;
}

/** The app's routes and their request/response types, for `hc<AppType>` (hono/client). */
export type AppType = ReturnType<typeof createApp>;
