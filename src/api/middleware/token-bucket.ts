import type { RateDecision, RateLimiter } from "./rate-limit.ts";

export interface TokenBucketOptions {
  /** Requests a client may make in a burst, and per `perSeconds` on average. */
  requests: number;
  perSeconds: number;
  /** Clients tracked at most; beyond it the least recently seen are forgotten (a forgotten client starts full). */
  maxClients?: number;
  now?: () => number;
}

/**
 * An in-process token bucket per client (Node; one process): `requests` tokens, refilled at requests/perSeconds per
 * second, one per request. No timer: a bucket is refilled when its client is next seen.
 */
export function tokenBucketLimiter(options: TokenBucketOptions): RateLimiter {
  const { requests, perSeconds, maxClients = 10_000, now = Date.now } = options;
  if (!(Number.isFinite(requests) && requests >= 1 && Number.isFinite(perSeconds) && perSeconds > 0)) {
    throw new Error(`rate limit: need requests >= 1 and perSeconds > 0, got ${requests}/${perSeconds}`);
  }
  const ratePerMs = requests / (perSeconds * 1000);
  // Map order is recency order: a client seen is moved to the end, the first entries are the stalest.
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    limit(key: string): RateDecision {
      const t = now();
      const bucket = buckets.get(key) ?? { tokens: requests, at: t };
      buckets.delete(key);
      bucket.tokens = Math.min(requests, bucket.tokens + (t - bucket.at) * ratePerMs);
      bucket.at = t;
      buckets.set(key, bucket);
      if (buckets.size > maxClients) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true, retryAfterS: 0 };
      }
      return { ok: false, retryAfterS: (1 - bucket.tokens) / ratePerMs / 1000 };
    },
  };
}
