import type { Context } from "hono";
import type { ZodError } from "zod";
import { RequestError } from "../predict/errors.ts";

/** Every API error is JSON {error: {code, message, field?}} with a 4xx/5xx status. */
export class ApiError extends RequestError {}

export function errorResponse(c: Context, error: RequestError) {
  return c.json({ error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } }, error.status);
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The first offending field of a zod error, with its message. A union whose every branch failed is reported
 * at the branch that got furthest (e.g. `context.0.row` for `{row: -1}`), not at the union itself; among
 * strict-object branches, the one whose keys the input has (`{b64: 5}` is a bad `{b64}`, not a bad `{row}`).
 */
export function firstIssue(error: ZodError): { field?: string; message: string } {
  let issue = error.issues[0] as Issue;
  const path: PropertyKey[] = [...issue.path];
  while (issue.code === "invalid_union" && issue.errors) {
    const reached = (branch: Issue[]) => branch.some((i) => i.path.length > 0 || i.code !== "invalid_type");
    const closest =
      issue.errors.find((branch) => reached(branch) && !branch.some((i) => i.code === "unrecognized_keys")) ?? issue.errors.find(reached);
    if (!closest) break;
    issue = closest[0];
    path.push(...issue.path);
  }
  const field = path.join(".") || undefined;
  return { field, message: `${field ? `${field}: ` : ""}${issue.message}` };
}

/** The routes' validation hook: zod issues → one 400 naming the first offending field. */
export function validationHook(result: { success: true } | { success: false; error: ZodError }, c: Context) {
  if (!result.success) {
    const { field, message } = firstIssue(result.error);
    return errorResponse(c, new ApiError(400, "invalid_request", message, field));
  }
}
