import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import type { Env } from "./deps.ts";
import { validationHook } from "./errors.ts";
import { errorBody } from "./schemas.ts";

/** A router whose routes validate with our error shape (every route file starts from one). */
export function router() {
  return new OpenAPIHono<Env>({ defaultHook: validationHook });
}

const descriptions = {
  400: "invalid request: the offending field is named",
  401: "missing or wrong admin key",
  403: "admin routes are disabled (no LVM_ADMIN_KEY)",
  404: "not found",
  413: "request body over 1 MiB",
  415: "the body is not sent as application/json",
  501: "not supported by this runtime",
  503: "unavailable in this deployment",
} as const;
type ErrorStatus = keyof typeof descriptions;

/** The error responses a route can give, for its OpenAPI `responses`. */
export function errorResponses<const S extends readonly ErrorStatus[]>(...statuses: S) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: descriptions[s], content: { "application/json": { schema: errorBody } } }]),
  ) as { [K in S[number]]: { description: string; content: { "application/json": { schema: typeof errorBody } } } };
}

/** A JSON 200 response for a route's `responses`. */
export function ok<S extends ZodType>(
  schema: S,
  description = "OK",
): { 200: { description: string; content: { "application/json": { schema: S } } } } {
  return { 200: { description, content: { "application/json": { schema } } } };
}
