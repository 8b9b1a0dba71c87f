import { createRoute } from "@hono/zod-openapi";
import { searchConcepts } from "../../predict/search.ts";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
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
      if (!deps.encoder) throw new ApiError(400, "text_unsupported", "this deployment has no text encoder: send vectors", "texts");
      const encoder = await deps.encoder();
      const started = performance.now();
      const rows = await encoder.embed(texts);
      const embedMs = performance.now() - started;
      c.get("log").embedMs = embedMs;
      const vectors = texts.map((_, i) => Array.from(rows.subarray(i * encoder.dim, (i + 1) * encoder.dim)));
      const truncated = await truncatedTexts(deps, texts);
      return c.json({ encoder: encoder.id, dim: encoder.dim, vectors, ...(truncated ? { truncated } : {}), timings: { embedMs } }, 200);
    });
}
