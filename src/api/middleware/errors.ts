import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { RequestError } from "../../predict/errors.ts";
import type { Env } from "../deps.ts";
import { ApiError, errorResponse } from "../errors.ts";

/** Service and route errors in our shape; Hono's own 4xx (malformed JSON and the like) keep their status. */
export const onError: ErrorHandler<Env> = (error, c) => {
  if (error instanceof RequestError) return errorResponse(c, error);
  // A middleware's own answer, already in our shape (the key checks: hono's bearerAuth throws its response).
  if (error instanceof HTTPException && error.res) return error.getResponse();
  if (error instanceof HTTPException && error.status < 500) {
    const code = error.status === 400 ? "invalid_json" : error.status === 415 ? "unsupported_media_type" : "bad_request";
    return errorResponse(c, new ApiError(error.status as RequestError["status"], code, error.message));
  }
  console.error(error);
  return errorResponse(c, new ApiError(500, "internal", "internal error"));
};

export const notFound: NotFoundHandler<Env> = (c) =>
  errorResponse(c, new ApiError(404, "not_found", `no route ${c.req.method} ${c.req.path}`));
