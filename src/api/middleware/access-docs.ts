import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "../deps.ts";
import { errorBody } from "../schemas.ts";

const json = (description: string) => ({ description, content: { "application/json": { schema: errorBody } } });

const TOO_MANY = {
  ...json("too many requests from this client (a deployment with a rate limit: LVM_RATE_LIMIT on Node, the Worker's binding)"),
  headers: { "Retry-After": { description: "seconds to wait before retrying", schema: { type: "integer" as const, minimum: 1 } } },
};
const NO_KEY = json("missing or wrong API key (a deployment with LVM_API_KEYS)");
const TOO_LARGE = json("request body over 1 MiB (refused before it is read)");

/**
 * Documents what the access middleware (api-keys.ts, rate-limit.ts, body-limit.ts) can answer on every route it covers:
 * 429 with Retry-After everywhere, 413 where a body is taken, and on /v1/* outside /v1/admin the optional API key
 * (security schemes `apiKey` and `apiKeyHeader`; `{}` in `security`: a deployment without keys is open) with its 401.
 * Call it on the app once every route is registered: the document is generated from these definitions.
 */
export function documentAccess(app: OpenAPIHono<Env>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "Authorization: Bearer <key>, one of the deployment's LVM_API_KEYS (when it sets them)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKeyHeader", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "one of the deployment's LVM_API_KEYS (when it sets them)",
  });
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route;
    const keyed = route.path.startsWith("/v1/") && !route.path.startsWith("/v1/admin/");
    const takesBody = route.method === "post" || route.method === "put" || route.method === "patch";
    // A new route object: the createRoute constants are shared by every app built in this process.
    definition.route = {
      ...route,
      ...(keyed ? { security: [{ apiKey: [] }, { apiKeyHeader: [] }, {}] } : {}),
      responses: {
        ...route.responses,
        ...(keyed ? { 401: NO_KEY } : {}),
        ...(takesBody ? { 413: TOO_LARGE } : {}),
        429: TOO_MANY,
      },
    };
  }
}
