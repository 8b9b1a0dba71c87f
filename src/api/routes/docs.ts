import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Schema } from "hono";
import type { AppDeps, Env } from "../deps.ts";
import { docsPage } from "../docs-page.ts";
import { openApiDocument } from "../openapi-document.ts";

const openapiJson = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  tags: ["service"],
  summary: "This OpenAPI 3.1 document",
  security: [],
  responses: {
    200: {
      description: "the document, generated from the routes",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

const docs = createRoute({
  method: "get",
  path: "/docs",
  operationId: "getDocsPage",
  tags: ["service"],
  summary: "The API reference as a self-contained HTML page",
  security: [],
  responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
});

/** /openapi.json and /docs, generated from every route registered on `app` (so mount them last). */
export function docRoutes<S extends Schema>(app: OpenAPIHono<Env, S>, deps: Pick<AppDeps, "version">) {
  return app
    .openapi(openapiJson, (c) => c.json(openApiDocument(app, deps.version) as unknown as Record<string, unknown>, 200))
    .openapi(docs, (c) => c.html(docsPage(openApiDocument(app, deps.version))) as never);
}
