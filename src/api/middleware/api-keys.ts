import type { MiddlewareHandler } from "hono";
import type { Env } from "../deps.ts";
import { keyAuth } from "./admin-auth.ts";

/**
 * /v1/* needs one of `keys` (`Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time); without
 * keys the API is open. /v1/admin/* is left to the admin key. The key's position in the list is kept as the client's
 * identity (`c.var.client`, e.g. "key:2") for the rate limit.
 */
export function requireApiKey(keys: string[]): MiddlewareHandler<Env> {
  const check = keyAuth(keys, "this API needs a key: 'Authorization: Bearer <key>' or 'x-api-key: <key>' (one of LVM_API_KEYS)");
  return async (c, next) => {
    if (c.req.path.startsWith("/v1/admin/")) return next();
    return check(c, async () => {
      const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? c.req.header("x-api-key");
      c.set("client", `key:${keys.indexOf(given ?? "")}`);
      await next();
    });
  };
}
