import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "./deps.ts";

export type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

const tags = [
  { name: "predict", description: "Next-concept prediction with a Latent Vector Model, and the models served" },
  { name: "search", description: "Sentence embeddings and nearest stored concepts" },
  { name: "store", description: "The stored documents and concepts" },
  { name: "bundle", description: "Store and model files for clients that run the model and the search themselves" },
  { name: "service", description: "Health and latency metrics" },
  { name: "admin", description: "Operator routes (need the admin key)" },
];

/** The OpenAPI 3.1 document, generated from the routes registered on `app` (their zod schemas). */
export function openApiDocument(app: OpenAPIHono<Env>, version = "0.1.0"): OpenApiDocument {
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "lvm-edge",
      version,
      description:
        "Next-concept prediction: embed the last concepts of a document, predict the next concept vector with a Latent Vector Model, and retrieve the stored concepts nearest to it. The context concepts themselves are never returned as predictions. Errors are JSON `{error: {code, message, field}}`.",
      // OpenAPI 3.1's SPDX `identifier` (the generator's 3.0-era type lacks it; the document is 3.1 and linted).
      license: { name: "Apache-2.0", identifier: "Apache-2.0" } as { name: string },
    },
    servers: [{ url: "/", description: "this deployment" }],
    tags,
  });
}
