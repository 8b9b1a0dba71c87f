import type { RateLimiter } from "./rate-limit.ts";

/** The Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml; simulated locally by wrangler/Miniflare). */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/**
 * The binding behind our RateLimiter. It answers only yes or no, per Cloudflare location and approximately; a refused
 * client is told to retry after the binding's period (10 or 60 s, as configured in wrangler.toml).
 */
export function workersRateLimiter(binding: RateLimitBinding, periodS: number): RateLimiter {
  return {
    async limit(key) {
      const { success } = await binding.limit({ key });
      return { ok: success, retryAfterS: periodS };
    },
  };
}
