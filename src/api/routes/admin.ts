import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { adminAuth } from "../middleware/admin-auth.ts";
import { errorResponses, ok, router } from "../router.ts";
import { purgeResponse, reloadResponse } from "../schemas.ts";

/** The admin key, as `Authorization: Bearer <LVM_ADMIN_KEY>` (or the `x-api-key` header). */
export const ADMIN_SECURITY: Record<string, string[]>[] = [{ adminBearer: [] }, { adminApiKey: [] }];

const reload = createRoute({
  method: "post",
  path: "/reload",
  operationId: "reloadModels",
  tags: ["admin"],
  summary: "Reload the models",
  description: "Re-reads the models from their source (Node).",
  security: ADMIN_SECURITY,
  responses: { ...ok(reloadResponse), ...errorResponses(401, 403, 501) },
});

const purge = createRoute({
  method: "post",
  path: "/metrics/purge",
  operationId: "purgeMetrics",
  tags: ["admin"],
  summary: "Delete metrics rows",
  description: "Deletes the rows recorded before `before` (all rows without it).",
  security: ADMIN_SECURITY,
  request: {
    query: z.object({
      before: z
        .string()
        .refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO date")
        .optional()
        .openapi({
          param: { name: "before", in: "query", description: "an ISO date" },
          format: "date-time",
          example: "2026-01-01T00:00:00Z",
        }),
    }),
  },
  responses: { ...ok(purgeResponse), ...errorResponses(400, 401, 403, 503) },
});

/** Mounted under /v1/admin; every route needs the admin key. */
export function adminRoutes(deps: AppDeps) {
  const admin = router();
  admin.use("*", adminAuth(deps.adminKey));
  admin.openAPIRegistry.registerComponent("securitySchemes", "adminBearer", {
    type: "http",
    scheme: "bearer",
    description: "Authorization: Bearer <LVM_ADMIN_KEY>",
  });
  admin.openAPIRegistry.registerComponent("securitySchemes", "adminApiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "the LVM_ADMIN_KEY",
  });
  return admin
    .openapi(reload, async (c) => {
      if (!deps.reloadModels) throw new ApiError(501, "not_supported", "this runtime cannot reload models");
      const served = await deps.reloadModels();
      return c.json({ reloaded: true as const, models: served ?? deps.models.list().map((m) => m.name) }, 200);
    })
    .openapi(purge, async (c) => {
      if (!deps.metrics) throw new ApiError(503, "metrics_off", "this deployment records no metrics");
      const { before } = c.req.valid("query");
      return c.json(await deps.metrics.purge({ before: before === undefined ? undefined : Date.parse(before) }), 200);
    });
}
