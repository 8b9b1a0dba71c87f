// Worker specifics of access and metrics, kept out of worker.ts: the access settings from the Worker's vars and
// secrets with the Rate Limiting binding, and when to write the buffered metrics rows.
import type { Context } from "hono";
import type { RateLimit } from "../api/app.ts";
import { type AccessSettings, accessSettings } from "../api/middleware/access-settings.ts";
import { type RateLimitBinding, workersRateLimiter } from "../api/middleware/workers-rate-limit.ts";
import type { MetricsRecorder } from "../db/metrics.ts";

/** The period of the RATE_LIMITER binding in wrangler.toml (`simple = { limit, period }`): a refused client's Retry-After. */
export const RATE_LIMIT_PERIOD_S = 10;

export interface WorkerAccessEnv {
  /** Secret: comma-separated API keys for /v1/* (`npx wrangler secret put LVM_API_KEYS`). */
  LVM_API_KEYS?: string;
  /** Var: comma-separated origins allowed to call the API from a browser, or *. */
  LVM_CORS_ORIGINS?: string;
  /** Var: "off" turns the rate limit off (e.g. `wrangler dev --var LVM_RATE_LIMIT:off` for load tests). */
  LVM_RATE_LIMIT?: string;
  /** The Workers Rate Limiting binding ([[ratelimits]] in wrangler.toml). */
  RATE_LIMITER?: RateLimitBinding;
}

export function workerAccess(env: WorkerAccessEnv): Pick<AccessSettings, "apiKeys" | "corsOrigins"> & { rateLimit?: RateLimit } {
  const { apiKeys, corsOrigins } = accessSettings({ LVM_API_KEYS: env.LVM_API_KEYS, LVM_CORS_ORIGINS: env.LVM_CORS_ORIGINS });
  const rateLimit: RateLimit | undefined =
    env.RATE_LIMITER && env.LVM_RATE_LIMIT !== "off"
      ? {
          limiter: workersRateLimiter(env.RATE_LIMITER, RATE_LIMIT_PERIOD_S),
          // Set by Cloudflare on every request (a client cannot forge it there).
          clientAddress: (c: Context) => c.req.header("cf-connecting-ip"),
        }
      : undefined;
  return { apiKeys, corsOrigins, rateLimit };
}

/**
 * Metrics rows are written in batches across requests, not one INSERT per request: a Worker has no timer that
 * outlives a request, so a request hands a flush to ctx.waitUntil when `maxRows` rows are buffered or `maxAgeMs` has
 * passed since the last flush. One INSERT per request cost the local D1 simulation about half the throughput and
 * most of workerd's memory growth under load (issue 13). Rows still buffered when the isolate is evicted are lost:
 * at most those of the last second (or maxRows - 1), and only when no request came after them.
 */
export function metricsFlusher(metrics: MetricsRecorder, { maxRows = 32, maxAgeMs = 1000, now = Date.now } = {}) {
  let last = now();
  return (): Promise<void> | undefined => {
    const t = now();
    if (metrics.health().buffered < maxRows && t - last < maxAgeMs) return undefined;
    last = t;
    return metrics.flush();
  };
}
