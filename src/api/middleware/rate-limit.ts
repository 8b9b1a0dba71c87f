import type { Context, MiddlewareHandler } from "hono";
import type { Env } from "../deps.ts";

/** What the rate limit needs from a runtime: src/api/middleware/token-bucket.ts (Node), workers-rate-limit.ts (Worker). */
export interface RateLimiter {
  /** Counts one request of `key`; `ok: false`: refuse it, the client may retry after `retryAfterS` seconds. */
  limit(key: string): Promise<RateDecision> | RateDecision;
}

export interface RateDecision {
  ok: boolean;
  retryAfterS: number;
}

export interface RateLimit {
  limiter: RateLimiter;
  /** The client's network address (Node: the socket's peer; Worker: CF-Connecting-IP), for requests without an API key. */
  clientAddress(c: Context<Env>): string | undefined;
}

/**
 * Every request counts against its client's budget: the API key it authenticated with (set by requireApiKey), else
 * its address. Over budget: 429 in our error shape with `Retry-After`. CORS preflights never reach it.
 */
export function rateLimit({ limiter, clientAddress }: RateLimit): MiddlewareHandler<Env> {
  return async (c, next) => {
    const key = c.get("client") ?? `ip:${clientAddress(c) ?? "unknown"}`;
    const decision = await limiter.limit(key);
    if (!decision.ok) {
      const retryAfterS = Math.max(1, Math.ceil(decision.retryAfterS));
      c.header("retry-after", String(retryAfterS));
      // Our error shape, written here: 429 is not one of the service's RequestError statuses.
      return c.json({ error: { code: "rate_limited", message: `too many requests: retry after ${retryAfterS} s` } }, 429);
    }
    await next();
  };
}
