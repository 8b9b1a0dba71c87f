import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Env } from "../deps.ts";

/**
 * CORS for browser clients on other origins, opt-in: `origins` lists them ("*" for any). Preflights are answered here,
 * before the key check and the rate limit; responses (errors included) carry the headers a page needs to read them.
 */
export function corsFor(origins: string[]): MiddlewareHandler<Env> {
  return cors({
    origin: origins.includes("*") ? "*" : origins,
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["content-type", "authorization", "x-api-key"],
    exposeHeaders: ["retry-after", "content-length"],
    maxAge: 600,
  });
}
