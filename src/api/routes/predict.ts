import { createRoute } from "@hono/zod-openapi";
import { generateChain } from "../../predict/generate.ts";
import { nextConcepts } from "../../predict/next.ts";
import type { AppDeps } from "../deps.ts";
import { errorResponses, ok, router } from "../router.ts";
import { generateRequest, generateResponse, nextRequest, nextResponse } from "../schemas.ts";
import { truncatedContext } from "../truncation.ts";

const next = createRoute({
  method: "post",
  path: "/v1/next",
  operationId: "nextConcepts",
  tags: ["predict"],
  summary: "Predict the next concepts",
  description:
    "Runs the model once over the context and returns the top-k stored concepts nearest the predicted vector. Context concepts are never returned. With `decode: true`, `generated` adds text written by the vector-to-text decoder for the predicted vector, with its re-embedding cosine (501 where no decoder is configured).",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: nextRequest } } } },
  responses: { ...ok(nextResponse), ...errorResponses(400, 404, 413, 415, 501, 503) },
});

const generate = createRoute({
  method: "post",
  path: "/v1/generate",
  operationId: "generateChain",
  tags: ["predict"],
  summary: "Generate a chain of concepts",
  description:
    "Autoregressive: predict, retrieve the best concept that is neither in the context nor used yet, slide the window, repeat; stops after `steps`, or when consecutive predictions have cosine above `stopCosine` (degeneration). With `decode: true`, each step's `generated` adds text written by the vector-to-text decoder for that step's predicted vector (501 where no decoder is configured).",
  security: [],
  request: { body: { required: true, content: { "application/json": { schema: generateRequest } } } },
  responses: { ...ok(generateResponse), ...errorResponses(400, 404, 413, 415, 501, 503) },
});

export function predictRoutes(deps: AppDeps) {
  return router()
    .openapi(next, async (c) => {
      const { includeVector, ...request } = c.req.valid("json");
      const { predicted, ...result } = await nextConcepts(deps, request, c.get("log"));
      const truncated = await truncatedContext(deps, request.context, request.model);
      return c.json({ ...result, ...(includeVector ? { vector: Array.from(predicted) } : {}), ...(truncated ? { truncated } : {}) }, 200);
    })
    .openapi(generate, async (c) => {
      const request = c.req.valid("json");
      const result = await generateChain(deps, request, c.get("log"));
      const truncated = await truncatedContext(deps, request.context, request.model);
      return c.json({ ...result, ...(truncated ? { truncated } : {}) }, 200);
    });
}
