import { bodyLimit } from "hono/body-limit";
import { ApiError, errorResponse } from "../errors.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Request bodies over 1 MiB are refused with 413 before they are parsed. */
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => errorResponse(c, new ApiError(413, "body_too_large", "request body is over 1 MiB")),
});
