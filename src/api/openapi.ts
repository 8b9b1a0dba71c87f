import { z } from "zod";
import { embedRequest, generateRequest, nextRequest, searchRequest } from "./schemas.ts";

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });

const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        field: { type: "string", description: "the offending request field, e.g. context.2" },
      },
      required: ["code", "message"],
    },
  },
};

const concept = {
  type: "object",
  properties: {
    row: { type: "integer" },
    text: { type: "string" },
    documentId: { type: "string" },
    title: { type: "string" },
    position: { type: "integer", description: "position of the concept in its document" },
    score: { type: "number", description: "cosine similarity to the query or prediction" },
  },
};

function post(summary: string, description: string, request: z.ZodType, response: Record<string, unknown>) {
  return {
    post: {
      summary,
      description,
      requestBody: { required: true, content: { "application/json": { schema: schema(request) } } },
      responses: {
        "200": { description: "OK", content: { "application/json": { schema: response } } },
        "400": { description: "invalid request (the field is named)", content: { "application/json": { schema: errorSchema } } },
        "404": { description: "unknown model", content: { "application/json": { schema: errorSchema } } },
        "413": { description: "body over 1 MiB", content: { "application/json": { schema: errorSchema } } },
      },
    },
  };
}

const timings = { type: "object", additionalProperties: { type: "number" }, description: "milliseconds per stage" };

/** The OpenAPI 3.1 description of the HTTP API, generated from the same zod schemas that validate requests. */
export function openApiDocument(version = "0.1.0") {
  return {
    openapi: "3.1.0",
    info: {
      title: "lvm-edge",
      version,
      description:
        "Next-concept prediction: embed the last concepts of a document, predict the next concept vector with a Latent Vector Model, and retrieve the stored concepts nearest to it. The context concepts themselves are never returned as predictions.",
    },
    paths: {
      "/v1/next": post(
        "Predict the next concepts",
        "context: 1..64 texts or vectors, the last 5 used (a shorter context is left-padded with its first item). Returns the top-k stored concepts nearest the predicted vector.",
        nextRequest,
        {
          type: "object",
          properties: {
            model: { type: "string" },
            backend: { type: "string" },
            index: { type: "string" },
            results: { type: "array", items: concept },
            vector: { type: "array", items: { type: "number" } },
            timings,
          },
        },
      ),
      "/v1/generate": post(
        "Generate a chain of concepts",
        "Autoregressive: predict, retrieve the best concept not used yet, slide the window, repeat; stops after `steps`, or when consecutive predictions have cosine above `stopCosine` (degeneration).",
        generateRequest,
        {
          type: "object",
          properties: {
            model: { type: "string" },
            steps: { type: "array", items: concept },
            stopped: { enum: ["steps", "degenerate", "exhausted"] },
            timings,
          },
        },
      ),
      "/v1/embed": post("Embed texts", "One unit vector per text, from the store's encoder.", embedRequest, {
        type: "object",
        properties: {
          encoder: { type: "string" },
          dim: { type: "integer" },
          vectors: { type: "array", items: { type: "array", items: { type: "number" } } },
          timings,
        },
      }),
      "/v1/search": post("Search the store", "Top-k stored concepts nearest a text or a vector.", searchRequest, {
        type: "object",
        properties: { index: { type: "string" }, results: { type: "array", items: concept }, timings },
      }),
      "/v1/models": {
        get: {
          summary: "List the models",
          description: "Trained LVMs and the copy-last / mean-context baselines.",
          responses: { "200": { description: "OK" } },
        },
      },
      "/v1/metrics": {
        get: {
          summary: "Latency percentiles",
          description: "p50/p95/p99 per endpoint and stage (embed, lvm, search, total) over the last `window` minutes (default 60).",
          parameters: [{ name: "window", in: "query", schema: { type: "number" } }],
          responses: { "200": { description: "OK" }, "503": { description: "metrics off or unavailable" } },
        },
      },
      "/healthz": { get: { summary: "Health", responses: { "200": { description: "OK" } } } },
      "/v1/admin/reload": {
        post: {
          summary: "Reload models (admin)",
          security: [{ bearer: [] }],
          responses: { "200": { description: "OK" }, "401": { description: "wrong key" }, "403": { description: "admin disabled" } },
        },
      },
      "/v1/admin/metrics/purge": {
        post: {
          summary: "Delete metrics rows (admin)",
          security: [{ bearer: [] }],
          parameters: [{ name: "before", in: "query", schema: { type: "string", format: "date-time" } }],
          responses: { "200": { description: "OK" }, "401": { description: "wrong key" }, "403": { description: "admin disabled" } },
        },
      },
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "LVM_ADMIN_KEY" } } },
  };
}
