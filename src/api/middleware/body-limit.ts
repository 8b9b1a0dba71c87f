import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, errorResponse } from "../errors.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = new ApiError(413, "body_too_large", "request body is over 1 MiB");

/** hono's limit for bodies without Content-Length (chunked): it reads up to the limit and stops there. */
const limitStream = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => errorResponse(c, tooLarge) });

/**
 * Request bodies over 1 MiB are refused with 413 before they are read. A Content-Length over the limit is refused on
 * the header alone, without touching the body (hono's bodyLimit opens the body stream even then, and an opened,
 * unread stream stalls the Node adapter's clean-up); a chunked body is read up to the limit and refused there.
 */
export const limitBody: MiddlewareHandler = async (c, next) => {
  const length = c.req.header("content-length");
  if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
    if (Number(length) > MAX_BODY_BYTES) return errorResponse(c, tooLarge);
    return next();
  }
  return limitStream(c, next);
};
