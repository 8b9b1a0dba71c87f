import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Env } from "../deps.ts";
import { ApiError, errorResponse } from "../errors.ts";

/**
 * A key check with hono's bearerAuth (constant-time comparison of SHA-256 digests) that answers in our error shape:
 * `Authorization: Bearer <key>`, or the key alone in `x-api-key`. Any failure — no key, a malformed header, a wrong
 * key — is one 401 naming `what` (a malformed header is not told apart: it would only help guessing).
 */
export function keyAuth(keys: string[], what: string): MiddlewareHandler<Env> {
  const refuse = (c: Parameters<MiddlewareHandler<Env>>[0]) => errorResponse(c, new ApiError(401, "unauthorized", what));
  const messages = {
    noAuthenticationHeader: { message: refuse },
    invalidAuthenticationHeader: { message: refuse },
    invalidToken: { message: refuse },
  };
  const bearer = bearerAuth<Env>({ token: keys, ...messages });
  const header = bearerAuth<Env>({ token: keys, headerName: "x-api-key", prefix: "", ...messages });
  return (c, next) => (c.req.header("authorization") === undefined && c.req.header("x-api-key") !== undefined ? header : bearer)(c, next);
}

/** Admin routes need `Authorization: Bearer <adminKey>` (or `x-api-key`); without a key they are disabled. */
export function adminAuth(adminKey: string | undefined): MiddlewareHandler<Env> {
  if (!adminKey) {
    return async () => {
      throw new ApiError(403, "admin_disabled", "admin routes are disabled: set LVM_ADMIN_KEY to enable them");
    };
  }
  return keyAuth([adminKey], "admin routes need 'Authorization: Bearer <LVM_ADMIN_KEY>'");
}
