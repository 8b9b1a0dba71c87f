import type { MiddlewareHandler } from "hono";
import type { Env } from "../deps.ts";
import { ApiError } from "../errors.ts";

/** Admin routes need `Authorization: Bearer <adminKey>` (or `x-api-key`); without a key they are disabled. */
export function adminAuth(adminKey: string | undefined): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (!adminKey) throw new ApiError(403, "admin_disabled", "admin routes are disabled: set LVM_ADMIN_KEY to enable them");
    const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? c.req.header("x-api-key");
    if (given !== adminKey) throw new ApiError(401, "unauthorized", "admin routes need 'Authorization: Bearer <LVM_ADMIN_KEY>'");
    await next();
  };
}
