import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import type { MetricsHealth, MetricsSummary, RequestMetric } from "../db/metrics.ts";
import type { Encoder } from "../encoders/types.ts";
import type { VectorIndex } from "../index/types.ts";
import { type LvmModel, type ModelRegistry, modelInfo } from "../lvm/registry.ts";
import { dot } from "../math/vectors.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import { contextVectors } from "./context-vectors.ts";
import { docsPage } from "./docs-page.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { openApiDocument } from "./openapi.ts";
import { embedRequest, generateRequest, nextRequest, searchRequest } from "./schemas.ts";

/** What the app needs from the metrics store (src/db/metrics.ts MetricsRecorder provides it). */
export interface MetricsSink {
  record(metric: RequestMetric): void;
  health(): MetricsHealth;
  summary(options: { windowMs?: number }): Promise<MetricsSummary>;
  purge(options: { before?: number }): Promise<{ deleted: number }>;
}

export interface AppDeps {
  store: ConceptStore;
  /** The exact index (always present): the WASM core where it loads, else the TypeScript reference. */
  exactIndex: VectorIndex;
  /** An approximate index, used unless a request asks for `exact`. */
  approximateIndex?: VectorIndex;
  /** Resolves once the encoder is loaded; undefined where only vector input is served. */
  encoder?: () => Promise<Encoder>;
  models: ModelRegistry;
  metrics?: MetricsSink;
  /** Admin routes need `Authorization: Bearer <adminKey>`; without a key they are disabled. */
  adminKey?: string;
  /** Reloads the models from their source (admin route). */
  reloadModels?: () => Promise<void>;
  runtime: "node" | "worker";
  version?: string;
  /** The bytes the web page's in-browser mode downloads (INT8 store and model files). */
  bundle?: BundleSource;
  /** Extra routes of the runtime (e.g. static files), mounted before the 404 handler. */
  extend?: (app: Hono<Env>) => void;
}

/** Store and model files as bytes, for clients that run the model and the search themselves. */
export interface BundleSource {
  /** "store.json" | "documents.jsonl" | "texts.bin" | "rows.bin" | "vectors-i8.bin" | "scales.bin" */
  storeFile(name: string): Promise<ArrayBuffer | string | undefined>;
  /** "model.json" | "weights.bin" of a served model (INT8 where available). */
  modelFile(model: string, name: string): Promise<ArrayBuffer | string | undefined>;
}

/** Per-request stage timings and labels, recorded as one metrics row. */
interface RequestLog {
  model?: string;
  k?: number;
  backend?: string;
  embedMs?: number;
  lvmMs?: number;
  searchMs?: number;
}

export type Env = { Variables: { log: RequestLog } };

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

function unitVector(values: number[], dim: number, field: string): Float32Array {
  if (values.length !== dim)
    throw new ApiError(400, "wrong_dim", `vector has ${values.length} values; the store and model use dim ${dim}`, field);
  const v = Float32Array.from(values);
  const norm = Math.sqrt(dot(v, v));
  if (norm === 0) throw new ApiError(400, "zero_vector", "vector is all zeros", field);
  for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

export function createApp(deps: AppDeps) {
  const { store, models } = deps;
  const app = new Hono<Env>();

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

  // Every API request becomes one metrics row; recording only buffers, so it never delays or fails the response.
  app.use("*", async (c, next) => {
    const ts = Date.now();
    const started = performance.now();
    c.set("log", {});
    await next();
    // API requests only: page assets and health checks would drown the figures.
    if (!deps.metrics || !c.req.path.startsWith("/v1/")) return;
    const log = c.get("log");
    deps.metrics.record({
      ts,
      endpoint: `${c.req.method} ${c.req.routePath === "/*" ? c.req.path : c.req.routePath}`,
      model: log.model ?? null,
      k: log.k ?? null,
      status: c.res.status,
      embedMs: log.embedMs ?? null,
      lvmMs: log.lvmMs ?? null,
      searchMs: log.searchMs ?? null,
      totalMs: performance.now() - started,
      runtime: deps.runtime,
      backend: log.backend ?? null,
    });
  });
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
  const pickIndex = (exact: boolean) => (exact || !deps.approximateIndex ? deps.exactIndex : deps.approximateIndex);
  const pickModel = (name: string | undefined): LvmModel => {
    const wanted = name ?? models.defaultName;
    const model = wanted ? models.get(wanted) : undefined;
    if (!model) {
      const known = models.list().map((m) => m.name);
      throw new ApiError(404, "unknown_model", `no model '${wanted}' (available: ${known.join(", ") || "none"})`, "model");
    }
    if (model.dim !== store.dim)
      throw new ApiError(400, "model_store_mismatch", `model '${model.name}' has dim ${model.dim}, the store ${store.dim}`, "model");
    return model;
  };
  /** Rows equal to a context concept are not predictions: they are the input. */
  const isContext = (row: number, contexts: Float32Array, n: number) => {
    const v = store.vector(row);
    for (let t = 0; t < n; t++) if (dot(v, contexts.subarray(t * store.dim, (t + 1) * store.dim)) > 0.9999) return true;
    return false;
  };

  app.get("/healthz", (c) =>
    c.json({
      status: "ok",
      version: deps.version,
      runtime: deps.runtime,
      store: { concepts: store.count, documents: store.documents.length, encoder: store.encoder },
      index: deps.exactIndex.kind,
      approximateIndex: deps.approximateIndex?.kind ?? null,
      models: models.list().length,
      metrics: deps.metrics?.health().state ?? "off",
    }),
  );

  app.get("/openapi.json", (c) => c.json(openApiDocument(deps.version)));
  app.get("/docs", (c) => c.html(docsPage(openApiDocument(deps.version))));

  app.get("/v1/documents", (c) =>
    c.json({ documents: store.documents.map((d, index) => ({ index, id: d.id, title: d.title, concepts: d.count })) }),
  );

  app.get("/v1/documents/:index", (c) => {
    const index = Number(c.req.param("index"));
    const doc = Number.isInteger(index) ? store.documents[index] : undefined;
    if (!doc)
      throw new ApiError(404, "unknown_document", `no document ${c.req.param("index")} (0..${store.documents.length - 1})`, "index");
    const concepts = Array.from({ length: doc.count }, (_, i) => ({
      row: doc.first + i,
      text: store.text(doc.first + i),
      vector: undefined as number[] | undefined,
    }));
    if (c.req.query("vectors") === "1") for (const concept of concepts) concept.vector = Array.from(store.vector(concept.row));
    return c.json({ id: doc.id, title: doc.title, concepts });
  });

  app.get("/v1/concepts/:row", (c) => {
    const row = Number(c.req.param("row"));
    if (!Number.isInteger(row) || row < 0 || row >= store.count)
      throw new ApiError(404, "unknown_concept", `no concept ${c.req.param("row")} (0..${store.count - 1})`, "row");
    return c.json({ ...store.concept(row), vector: Array.from(store.vector(row)) });
  });

  const sendFile = (c: Context<Env>, data: ArrayBuffer | string | undefined, what: string) => {
    if (data === undefined) throw new ApiError(404, "not_found", `${what} is not available here`);
    if (typeof data === "string") return c.text(data);
    return c.body(data, 200, { "content-type": "application/octet-stream", "cache-control": "public, max-age=300" });
  };
  app.get("/v1/bundle/store/:file", async (c) =>
    sendFile(c, await deps.bundle?.storeFile(c.req.param("file")), `store file '${c.req.param("file")}'`),
  );
  app.get("/v1/bundle/models/:model/:file", async (c) =>
    sendFile(
      c,
      await deps.bundle?.modelFile(c.req.param("model"), c.req.param("file")),
      `model file '${c.req.param("model")}/${c.req.param("file")}'`,
    ),
  );

  app.get("/v1/models", (c) =>
    c.json({
      default: models.defaultName,
      models: models.list().map((m) => ({ ...modelInfo(m), default: m.name === models.defaultName })),
    }),
  );

  app.post("/v1/embed", validate(embedRequest), async (c) => {
    const { texts } = c.req.valid("json");
    const enc = await encoder("texts");
    const started = performance.now();
    const rows = await enc.embed(texts);
    c.get("log").embedMs = performance.now() - started;
    const vectors = texts.map((_, i) => Array.from(rows.subarray(i * enc.dim, (i + 1) * enc.dim)));
    return c.json({ encoder: enc.id, dim: enc.dim, vectors, timings: { embedMs: c.get("log").embedMs } });
  });

  app.post("/v1/search", validate(searchRequest), async (c) => {
    const body = c.req.valid("json");
    const log = c.get("log");
    log.k = body.k;
    let query: Float32Array;
    if (body.vector) {
      query = unitVector(body.vector, store.dim, "vector");
    } else {
      const enc = await encoder("text");
      const started = performance.now();
      query = await enc.embed([body.text as string]);
      log.embedMs = performance.now() - started;
    }
    const index = pickIndex(body.exact);
    const started = performance.now();
    const hits = index.search(query, body.k, undefined, { ef: body.ef });
    log.searchMs = performance.now() - started;
    log.backend = index.kind;
    const results = Array.from(hits.rows, (row, i) => ({ ...store.concept(row), score: hits.scores[i] }));
    return c.json({ index: index.kind, results, timings: { embedMs: log.embedMs, searchMs: log.searchMs } });
  });

  app.post("/v1/next", validate(nextRequest), async (c) => {
    const body = c.req.valid("json");
    const log = c.get("log");
    const model = pickModel(body.model);
    Object.assign(log, { model: model.name, k: body.k, backend: model.backend });
    const started = performance.now();
    const { vectors, embedMs } = await contextVectors(body.context, model.context, store.dim, deps.encoder && (() => encoder("context")));
    log.embedMs = embedMs;
    let t = performance.now();
    const predicted = await model.forward(vectors, 1);
    log.lvmMs = performance.now() - t;
    const index = pickIndex(body.exact);
    t = performance.now();
    const hits = index.search(predicted, body.k + model.context, undefined, { ef: body.ef });
    const results = [];
    for (let i = 0; i < hits.rows.length && results.length < body.k; i++) {
      if (!isContext(hits.rows[i], vectors, model.context)) results.push({ ...store.concept(hits.rows[i]), score: hits.scores[i] });
    }
    log.searchMs = performance.now() - t;
    return c.json({
      model: model.name,
      backend: model.backend,
      index: index.kind,
      results,
      ...(body.includeVector ? { vector: Array.from(predicted) } : {}),
      timings: { embedMs: log.embedMs, lvmMs: log.lvmMs, searchMs: log.searchMs, totalMs: performance.now() - started },
    });
  });

  app.post("/v1/generate", validate(generateRequest), async (c) => {
    const body = c.req.valid("json");
    const log = c.get("log");
    const model = pickModel(body.model);
    Object.assign(log, { model: model.name, backend: model.backend });
    const started = performance.now();
    const { vectors, embedMs } = await contextVectors(body.context, model.context, store.dim, deps.encoder && (() => encoder("context")));
    log.embedMs = embedMs;
    log.lvmMs = 0;
    log.searchMs = 0;
    const dim = store.dim;
    const original = vectors.slice();
    const window = vectors.slice();
    const used = new Set<number>();
    const steps: Record<string, unknown>[] = [];
    let previous: Float32Array | undefined;
    let stopped = "steps";
    const index = pickIndex(body.exact);
    for (let s = 0; s < body.steps; s++) {
      let t = performance.now();
      const predicted = await model.forward(window, 1);
      log.lvmMs += performance.now() - t;
      const cosineToPrevious = previous ? dot(predicted, previous) : null;
      if (cosineToPrevious !== null && cosineToPrevious > body.stopCosine) {
        stopped = "degenerate";
        break;
      }
      t = performance.now();
      const hits = index.search(predicted, 1 + used.size + model.context, used, { ef: body.ef });
      log.searchMs += performance.now() - t;
      let pick = -1;
      for (let i = 0; i < hits.rows.length && pick < 0; i++) if (!isContext(hits.rows[i], original, model.context)) pick = i;
      if (pick < 0) {
        stopped = "exhausted";
        break;
      }
      const row = hits.rows[pick];
      steps.push({ ...store.concept(row), score: hits.scores[pick], cosineToPrevious });
      used.add(row);
      // Feed the retrieved concept back: the window slides by one.
      window.copyWithin(0, dim);
      window.set(store.vector(row), (model.context - 1) * dim);
      previous = predicted;
    }
    return c.json({
      model: model.name,
      backend: model.backend,
      steps,
      stopped,
      timings: { embedMs: log.embedMs, lvmMs: log.lvmMs, searchMs: log.searchMs, totalMs: performance.now() - started },
    });
  });

  app.get("/v1/metrics", async (c) => {
    if (!deps.metrics) throw new ApiError(503, "metrics_off", "this deployment records no metrics");
    const minutes = Number(c.req.query("window") ?? 60);
    if (!Number.isFinite(minutes) || minutes <= 0)
      throw new ApiError(400, "invalid_request", "window must be a positive number of minutes", "window");
    const summary = await deps.metrics.summary({ windowMs: minutes * 60_000 }).catch((error: Error) => {
      throw new ApiError(503, "metrics_unavailable", `metrics database unavailable: ${error.message}`);
    });
    return c.json({ ...summary, health: deps.metrics.health() });
  });

  const admin = new Hono<Env>();
  admin.use("*", async (c, next) => {
    if (!deps.adminKey) throw new ApiError(403, "admin_disabled", "admin routes are disabled: set LVM_ADMIN_KEY to enable them");
    const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? c.req.header("x-api-key");
    if (given !== deps.adminKey) throw new ApiError(401, "unauthorized", "admin routes need 'Authorization: Bearer <LVM_ADMIN_KEY>'");
    await next();
  });
  admin.post("/reload", async (c) => {
    if (!deps.reloadModels) throw new ApiError(501, "not_supported", "this runtime cannot reload models");
    await deps.reloadModels();
    return c.json({ reloaded: true, models: models.list().map((m) => m.name) });
  });
  admin.post("/metrics/purge", async (c) => {
    if (!deps.metrics) throw new ApiError(503, "metrics_off", "this deployment records no metrics");
    const before = c.req.query("before");
    const at = before === undefined ? undefined : Date.parse(before);
    if (at !== undefined && Number.isNaN(at)) throw new ApiError(400, "invalid_request", "before must be an ISO date", "before");
    return c.json(await deps.metrics.purge({ before: at }));
  });
  app.route("/v1/admin", admin);

  deps.extend?.(app);
  return app;
}
