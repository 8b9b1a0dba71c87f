import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import type { Encoder } from "../encoders/types.ts";
import { exactSearch } from "../index/exact.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { embedRequest, searchRequest } from "./schemas.ts";

export interface AppDeps {
  store: ConceptStore;
  /** Resolves once the encoder is loaded; undefined where only vector input is served. */
  encoder?: () => Promise<Encoder>;
  version?: string;
}

/** zod issues → one 400 naming the first offending field. */
function validate<S extends z.ZodType>(schema: S) {
  return zValidator("json", schema, (result, c) => {
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue.path.join(".") || undefined;
      return errorResponse(c, new ApiError(400, "invalid_request", `${field ? `${field}: ` : ""}${issue.message}`, field));
    }
  });
}

export function createApp(deps: AppDeps) {
  const { store } = deps;
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    // Hono's own 4xx (malformed JSON body and the like) keep their status, in our error shape.
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(c, new ApiError(error.status, error.status === 400 ? "invalid_json" : "bad_request", error.message));
    }
    console.error(error);
    return errorResponse(c, new ApiError(500, "internal", "internal error"));
  });
  app.notFound((c) => errorResponse(c, new ApiError(404, "not_found", `no route ${c.req.method} ${c.req.path}`)));
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: (c) => errorResponse(c, new ApiError(413, "body_too_large", "request body is over 1 MiB")),
    }),
  );

  const encoder = async (field: string) => {
    if (!deps.encoder) throw new ApiError(400, "text_unsupported", "this deployment has no text encoder: send vectors", field);
    return deps.encoder();
  };

  app.get("/healthz", (c) =>
    c.json({
      status: "ok",
      version: deps.version,
      store: { concepts: store.count, documents: store.documents.length, encoder: store.encoder },
    }),
  );

  app.post("/v1/embed", validate(embedRequest), async (c) => {
    const { texts } = c.req.valid("json");
    const enc = await encoder("texts");
    const started = performance.now();
    const rows = await enc.embed(texts);
    const vectors = texts.map((_, i) => Array.from(rows.subarray(i * enc.dim, (i + 1) * enc.dim)));
    return c.json({ encoder: enc.id, dim: enc.dim, vectors, timings: { embedMs: performance.now() - started } });
  });

  app.post("/v1/search", validate(searchRequest), async (c) => {
    const body = c.req.valid("json");
    const timings: Record<string, number> = {};
    let query: Float32Array;
    if (body.vector) {
      if (body.vector.length !== store.dim) {
        throw new ApiError(
          400,
          "wrong_dim",
          `vector has ${body.vector.length} values; this store's encoder '${store.encoder.id}' has dim ${store.dim}`,
          "vector",
        );
      }
      query = Float32Array.from(body.vector);
      let norm = 0;
      for (const v of query) norm += v * v;
      if (norm === 0) throw new ApiError(400, "zero_vector", "vector is all zeros", "vector");
      for (let i = 0; i < query.length; i++) query[i] /= Math.sqrt(norm);
    } else {
      const enc = await encoder("text");
      const started = performance.now();
      query = await enc.embed([body.text as string]);
      timings.embedMs = performance.now() - started;
    }
    const started = performance.now();
    const hits = exactSearch(store.vectors, store.dim, query, body.k);
    timings.searchMs = performance.now() - started;
    const results = Array.from(hits.rows, (row, i) => ({ ...store.concept(row), score: hits.scores[i] }));
    return c.json({ results, timings });
  });

  return app;
}
