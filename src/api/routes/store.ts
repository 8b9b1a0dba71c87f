import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, ok, router } from "../router.ts";
import { conceptResponse, documentResponse, documentsResponse } from "../schemas.ts";

// Path numbers stay strings here so that a non-number is a 404 naming it, as for a number out of range.
const integerParam = (name: string, description: string) =>
  z.string().openapi({ param: { name, in: "path", description }, type: "integer", minimum: 0, example: 0 } as never);

const documents = createRoute({
  method: "get",
  path: "/v1/documents",
  operationId: "listDocuments",
  tags: ["store"],
  summary: "List the stored documents",
  security: [],
  responses: ok(documentsResponse),
});

const document = createRoute({
  method: "get",
  path: "/v1/documents/{index}",
  operationId: "getDocument",
  tags: ["store"],
  summary: "One document's concepts, in order",
  security: [],
  request: {
    params: z.object({ index: integerParam("index", "the document's index in GET /v1/documents") }),
    query: z.object({
      vectors: z
        .string()
        .optional()
        .openapi({ param: { name: "vectors", in: "query", description: "1: include each concept's vector" } }),
    }),
  },
  responses: { ...ok(documentResponse), ...errorResponses(404) },
});

const concept = createRoute({
  method: "get",
  path: "/v1/concepts/{row}",
  operationId: "getConcept",
  tags: ["store"],
  summary: "One stored concept with its vector",
  security: [],
  request: { params: z.object({ row: integerParam("row", "the concept's row") }) },
  responses: { ...ok(conceptResponse), ...errorResponses(404) },
});

export function storeRoutes(deps: AppDeps) {
  const { store } = deps;
  return router()
    .openapi(documents, (c) =>
      c.json({ documents: store.documents.map((d, index) => ({ index, id: d.id, title: d.title, concepts: d.count })) }, 200),
    )
    .openapi(document, (c) => {
      const { index } = c.req.valid("param");
      const n = Number(index);
      const doc = Number.isInteger(n) && /^\d+$/.test(index) ? store.documents[n] : undefined;
      if (!doc) throw new ApiError(404, "unknown_document", `no document ${index} (0..${store.documents.length - 1})`, "index");
      const withVectors = c.req.valid("query").vectors === "1";
      const concepts = Array.from({ length: doc.count }, (_, i) => {
        const row = doc.first + i;
        return { row, text: store.text(row), ...(withVectors ? { vector: Array.from(store.vector(row)) } : {}) };
      });
      return c.json({ id: doc.id, title: doc.title, concepts }, 200);
    })
    .openapi(concept, (c) => {
      const { row } = c.req.valid("param");
      const n = Number(row);
      if (!/^\d+$/.test(row) || n >= store.count)
        throw new ApiError(404, "unknown_concept", `no concept ${row} (0..${store.count - 1})`, "row");
      return c.json({ ...store.concept(n), vector: Array.from(store.vector(n)) }, 200);
    });
}
