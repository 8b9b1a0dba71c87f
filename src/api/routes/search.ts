import { createRoute } from "@hono/zod-openapi";
import { embedRequestTexts, searchConcepts } from "../../predict/search.ts";
import type { AppDeps } from "../deps.ts";
import { errorResponses, ok, router } from "../router.ts";
import { embedRequest, embedResponse, searchRequest, searchResponse } from "../schemas.ts";
import { truncatedTexts } from "../truncation.ts";

const search = createRoute({
  method: "post",
  path: "/v1/search",
  operationId: "searchConcepts",
  tags: ["search"],
  summary: "Search the store",
  description: "Top-k stored concepts nearest a text or a vector.",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: searchRequest } } } },
  responses: { ...ok(searchResponse), ...errorResponses(400, 413, 415) },
});

const embed = createRoute({
  method: "post",
  path: "/v1/embed",
  operationId: "embedTexts",
  tags: ["search"],
  summary: "Embed texts",
  description: "One unit vector per text, from the store's encoder.",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: embedRequest } } } },
  responses: { ...ok(embedResponse), ...errorResponses(400, 413, 415) },
});

export function searchRoutes(deps: AppDeps) {
  return router()
    .openapi(search, async (c) => {
      const request = c.req.valid("json");
      const result = await searchConcepts(deps, request, c.get("log"));
      const truncated = request.text !== undefined && (await truncatedTexts(deps, [request.text])) !== undefined;
      return c.json({ ...result, ...(truncated ? { truncated } : {}) }, 200);
    })
    .openapi(embed, async (c) => {
      const { texts } = c.req.valid("json");
      // Stored texts take their stored vectors; the rest go through the (cached) encoder.
      const { encoder, dim, vectors: rows, timings } = await embedRequestTexts(deps, texts, c.get("log"));
      const vectors = texts.map((_, i) => Array.from(rows.subarray(i * dim, (i + 1) * dim)));
      const truncated = await truncatedTexts(deps, texts);
      return c.json({ encoder, dim, vectors, ...(truncated ? { truncated } : {}), timings }, 200);
    });
}
