import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type MetricsSink } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import type { RequestMetric } from "../../src/db/metrics.ts";
import { openNodeMetrics } from "../../src/db/sqlite-node.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { loadUseLiteEncoder } from "../../src/encoders/use-lite-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { initTensors } from "../../src/lvm/architectures.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { CoreLvm } from "../../src/lvm/runners/core-lvm.ts";
import { encodeVectorB64 } from "../../src/predict/vector-b64.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, cosine, tempDir } from "../helpers.ts";

let store: ConceptStore;
let encoder: Promise<Encoder>;
let app: ReturnType<typeof createApp>;
let cleanup: () => Promise<void>;
let dir: string;
const recorded: RequestMetric[] = [];
const sink: MetricsSink = {
  record: (m) => recorded.push(m),
  health: () => ({ state: "ok", buffered: 0, written: recorded.length, dropped: 0, rejected: 0, failures: 0, lastError: null }),
  summary: async () => ({ windowMs: 1, since: 0, rows: [], requests: [] }),
  purge: async () => ({ deleted: recorded.splice(0).length }),
};

beforeAll(async () => {
  const d = await tempDir();
  cleanup = d[Symbol.asyncDispose];
  dir = d.path;
  store = await readStore(await buildMiniStore(join(dir, "store")));
  encoder = loadUseLiteEncoder();
  const core = await loadCore();
  const models = new ModelRegistry();
  const config = { arch: "gru" as const, dim: 512, context: 5, hidden: 64, layers: 1, residual: true };
  const gru = new CoreLvm(core, { config, tensors: initTensors(config, 1), lastWeight: 0 }, "int8");
  models.add({
    name: "tiny-gru",
    arch: "gru",
    backend: "core-int8",
    dim: 512,
    encoder: "use-lite",
    context: 5,
    description: "random weights",
    forward: (c, b) => gru.forward(c, b),
  });
  for (const b of baselineModels(512, "use-lite")) models.add(b);
  const exactIndex = Object.assign(new CoreIndex(core, store), { kind: "exact-core" });
  app = createApp({
    store,
    exactIndex,
    encoder: () => encoder,
    models,
    metrics: sink,
    adminKey: "s3cret",
    runtime: "node",
    reloadModels: async () => undefined,
  });
});
afterAll(async () => {
  (await encoder)?.dispose?.();
  await cleanup();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const contextRows = (first: number) => [0, 1, 2, 3, 4].map((i) => Array.from(store.vector(first + i)));

describe("HTTP API", () => {
  it("GET /healthz reports the store, index and models", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ok",
      store: { concepts: 6399, documents: 147, encoder: { id: "use-lite", dim: 512 } },
      index: "exact-core",
      models: 3,
    });
  });

  it("POST /v1/search with a stored vector returns that concept first, with provenance, as the reference does", async () => {
    const row = 1234;
    const res = await post("/v1/search", { vector: Array.from(store.vector(row)), k: 5 });
    expect(res.status).toBe(200);
    const { results, index } = await res.json();
    expect(index).toBe("exact-core");
    expect(results[0]).toMatchObject({
      row,
      text: store.text(row),
      documentId: store.concept(row).documentId,
      position: store.position(row),
    });
    expect(results.map((r: { row: number }) => r.row)).toEqual(Array.from(exactSearch(store.vectors, 512, store.vector(row), 5).rows));
  });

  it("POST /v1/search with text finds the paragraph it repeats", async () => {
    // The stored text itself takes its stored vector (nothing embedded); the text with a "!" appended is embedded.
    const stored = await (await post("/v1/search", { text: store.text(42), k: 3 })).json();
    expect(stored.results[0].row).toBe(42);
    expect(stored.timings.embedMs).toBeUndefined();
    const res = await post("/v1/search", { text: `${store.text(42)}!`, k: 3 });
    const { results, timings } = await res.json();
    expect(results[0].row).toBe(42);
    expect(timings.embedMs).toBeGreaterThan(0);
  });

  it("POST /v1/embed returns unit vectors that match the store's", async () => {
    const body = await (await post("/v1/embed", { texts: [store.text(7), "Another sentence."] })).json();
    expect(body).toMatchObject({ encoder: "use-lite", dim: 512 });
    expect(cosine(Float32Array.from(body.vectors[0]), store.vector(7))).toBeGreaterThan(0.999);
  });

  it("POST /v1/next with copy-last returns the concepts nearest the last context, never a context concept", async () => {
    const res = await post("/v1/next", { context: contextRows(200), k: 5, model: "copy-last", includeVector: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ model: "copy-last", backend: "baseline" });
    const contextIds = new Set([200, 201, 202, 203, 204]);
    expect(body.results).toHaveLength(5);
    expect(body.results.some((r: { row: number }) => contextIds.has(r.row))).toBe(false);
    const expected = Array.from(exactSearch(store.vectors, 512, store.vector(204), 5, contextIds).rows);
    expect(body.results.map((r: { row: number }) => r.row)).toEqual(expected);
    expect(cosine(Float32Array.from(body.vector), store.vector(204))).toBeCloseTo(1, 5);
    expect(body.timings).toMatchObject({ lvmMs: expect.any(Number), searchMs: expect.any(Number), totalMs: expect.any(Number) });
  });

  it("POST /v1/next takes stored concepts as {row}: the same results as their vectors, never a context row", async () => {
    const byRow = await (
      await post("/v1/next", { context: [200, 201, 202, 203, 204].map((row) => ({ row })), k: 5, model: "copy-last" })
    ).json();
    const byVector = await (await post("/v1/next", { context: contextRows(200), k: 5, model: "copy-last" })).json();
    expect(byRow.results.map((r: { row: number }) => r.row)).toEqual(byVector.results.map((r: { row: number }) => r.row));
    const chain = await (await post("/v1/generate", { context: [{ row: 300 }, { row: 301 }], steps: 3, model: "copy-last" })).json();
    expect(chain.steps.map((s: { row: number }) => s.row)).not.toContain(301);
  });

  it("POST /v1/next runs the default model on mixed text and vector context, and pads a short context", async () => {
    const res = await post("/v1/next", { context: ["The river flows into the sea.", Array.from(store.vector(11))], k: 3 });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.model).toBe("tiny-gru");
    expect(body.results).toHaveLength(3);
    expect(body.timings.embedMs).toBeGreaterThan(0);
  });

  it("POST /v1/generate walks a chain of distinct concepts and says why it stopped", async () => {
    const res = await post("/v1/generate", { context: contextRows(300), steps: 4, model: "copy-last" });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(["steps", "degenerate"]).toContain(body.stopped);
    const rows = body.steps.map((s: { row: number }) => s.row);
    expect(new Set(rows).size).toBe(rows.length);
    for (const r of rows) expect(r < 300 || r > 304).toBe(true);
    // copy-last predicts the last window vector: first the last context (304), then the first retrieved concept.
    if (body.steps.length > 1) expect(body.steps[1].cosineToPrevious).toBeCloseTo(cosine(store.vector(rows[0]), store.vector(304)), 4);
  });

  it("GET /v1/models lists trained models and baselines with the default", async () => {
    const body = await (await app.request("/v1/models")).json();
    expect(body.default).toBe("tiny-gru");
    expect(body.models.map((m: { name: string }) => m.name)).toEqual(["tiny-gru", "copy-last", "mean-context"]);
    expect(body.models[0]).not.toHaveProperty("forward");
  });

  it("serves an OpenAPI document and a self-contained docs page", async () => {
    const doc = await (await app.request("/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/next", "/v1/generate", "/v1/embed", "/v1/search", "/v1/models", "/v1/metrics"]),
    );
    // Request bodies are components, referenced from the operations (the document is generated from the routes).
    const ref: string = doc.paths["/v1/next"].post.requestBody.content["application/json"].schema.$ref;
    expect(doc.components.schemas[ref.replace("#/components/schemas/", "")].properties.context).toBeDefined();
    const page = await (await app.request("/docs")).text();
    expect(page).toContain("POST /v1/next");
    expect(page).not.toMatch(/<script src=|<link [^>]*href="http/);
  });

  it.each([
    ["/v1/search", { vector: [1, 2, 3] }, 400, "wrong_dim", "vector"],
    ["/v1/search", { k: 5 }, 400, "invalid_request", "text"],
    ["/v1/search", { text: "a", k: 1000 }, 400, "invalid_request", "k"],
    ["/v1/search", { vector: new Array(512).fill(0) }, 400, "zero_vector", "vector"],
    ["/v1/embed", { texts: [] }, 400, "invalid_request", "texts"],
    ["/v1/embed", { texts: ["ok", "  "] }, 400, "invalid_request", "texts.1"],
    ["/v1/embed", "{broken", 400, "invalid_json", undefined],
    ["/v1/next", { context: [] }, 400, "invalid_request", "context"],
    ["/v1/next", { context: new Array(65).fill("x") }, 400, "invalid_request", "context"],
    ["/v1/next", { context: ["fine", [1, 2]] }, 400, "wrong_dim", "context.1"],
    ["/v1/next", { context: ["fine", new Array(512).fill(0)] }, 400, "zero_vector", "context.1"],
    ["/v1/next", { context: ["fine"], model: "nope" }, 404, "unknown_model", "model"],
    ["/v1/next", { context: ["fine"], k: 0 }, 400, "invalid_request", "k"],
    ["/v1/generate", { context: ["fine"], steps: 500 }, 400, "invalid_request", "steps"],
    ["/v1/next", { context: [{ row: -1 }] }, 400, "invalid_request", "context.0.row"],
    ["/v1/next", { context: [{ row: 1.5 }] }, 400, "invalid_request", "context.0.row"],
    ["/v1/next", { context: ["fine", { row: 10_000_000 }] }, 404, "unknown_concept", "context.1.row"],
    ["/v1/generate", { context: [{ row: 6399 }] }, 404, "unknown_concept", "context.0.row"],
    ["/v1/next", { context: ["fine", 5] }, 400, "invalid_request", "context.1"],
    ["/v1/next", { context: ["fine", { b64: "@@" }] }, 400, "bad_base64", "context.1.b64"],
    ["/v1/next", { context: [{ row: 1 }, "a", encodeVectorB64([1, 2, 3])] }, 400, "wrong_dim", "context.2.b64"],
    ["/v1/generate", { context: [{ b64: 5 }] }, 400, "invalid_request", "context.0.b64"],
    ["/v1/generate", { context: [{ b64: "AAAA", row: 1 }] }, 400, "invalid_request", "context.0"],
    ["/v1/next", { context: [encodeVectorB64(new Array(512).fill(0))] }, 400, "zero_vector", "context.0.b64"],
    ["/v1/search", { vector: { b64: "AAAA" } }, 400, "wrong_dim", "vector.b64"],
    ["/v1/search", { vector: { b64: "a b!" } }, 400, "bad_base64", "vector.b64"],
  ])("%s → %i %s (%s)", async (path, body, status, code, field) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    const { error } = await res.json();
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message.length).toBeGreaterThan(5);
  });

  it("takes vectors as JSON numbers, as {b64} (base64 float32) or as {row}, with identical results", async () => {
    const rows = [700, 701, 702, 703, 704];
    const forms = [
      rows.map((row) => Array.from(store.vector(row))),
      rows.map((row) => encodeVectorB64(store.vector(row))),
      rows.map((row) => ({ row })),
    ];
    const json = async (path: string, body: unknown) => {
      const res = await post(path, body);
      expect(res.status).toBe(200);
      const { timings: _, ...rest } = await res.json();
      return rest;
    };
    for (const model of ["tiny-gru", "mean-context"]) {
      const next = await Promise.all(forms.map((context) => json("/v1/next", { context, k: 10, model, includeVector: true })));
      const chains = await Promise.all(forms.map((context) => json("/v1/generate", { context, steps: 3, model })));
      expect(next[0].results).toHaveLength(10);
      for (const r of next.slice(1)) expect(r).toEqual(next[0]);
      for (const c of chains.slice(1)) expect(c).toEqual(chains[0]);
    }
    const searches = await Promise.all(
      [Array.from(store.vector(42)), encodeVectorB64(store.vector(42))].map((vector) => json("/v1/search", { vector, k: 5 })),
    );
    expect(searches[0].results[0].row).toBe(42);
    expect(searches[1]).toEqual(searches[0]);
    // A NaN in the base64 form is named like the JSON form's: its item's b64 field.
    const nan = encodeVectorB64(Array.from(store.vector(3), (v, j) => (j === 100 ? Number.NaN : v)));
    const res = await post("/v1/next", { context: [{ row: 1 }, { row: 2 }, nan] });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      code: "not_finite",
      field: "context.2.b64",
      message: expect.stringMatching(/value 100/),
    });
  });

  it("rejects NaN and Infinity in vectors (JSON carries them as null or overflowing literals)", async () => {
    const vector: (number | null)[] = Array.from(store.vector(0));
    vector[3] = null;
    const res = await post("/v1/next", { context: [vector] });
    expect(res.status).toBe(400);
    expect((await res.json()).error.field).toBe("context.0.3");
    const overflow = `{"vector":[1e999${",0".repeat(511)}]}`;
    const res2 = await post("/v1/search", overflow);
    expect(res2.status).toBe(400);
    expect((await res2.json()).error.field).toBe("vector.0");
  });

  it("answers a body that is not sent as JSON with 415 in our error shape", async () => {
    const res = await app.request("/v1/next", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe("unsupported_media_type");
  });

  it("answers unknown routes and oversized bodies with JSON errors", async () => {
    expect((await app.request("/nope")).status).toBe(404);
    const res = await post("/v1/embed", { texts: ["x".repeat(2 * 1024 * 1024)] });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("body_too_large");
  });

  it("admin routes need the key", async () => {
    expect((await post("/v1/admin/reload", {})).status).toBe(401);
    expect((await post("/v1/admin/reload", {}, { authorization: "Bearer wrong" })).status).toBe(401);
    const ok = await post("/v1/admin/reload", {}, { authorization: "Bearer s3cret" });
    expect(ok.status).toBe(200);
    expect((await post("/v1/admin/metrics/purge?before=nonsense", {}, { authorization: "Bearer s3cret" })).status).toBe(400);
    const noKey = createApp({
      store,
      exactIndex: { kind: "x", search: () => ({ rows: new Int32Array(), scores: new Float32Array() }) },
      models: new ModelRegistry(),
      runtime: "node",
    });
    expect((await noKey.request("/v1/admin/reload", { method: "POST" })).status).toBe(403);
  });

  it("records one metrics row per request with the stages it ran", async () => {
    recorded.length = 0;
    await post("/v1/next", { context: contextRows(500), k: 2, model: "copy-last" });
    await post("/v1/next", { context: [], k: 2 });
    expect(recorded).toHaveLength(2);
    expect(recorded[0]).toMatchObject({ endpoint: "POST /v1/next", model: "copy-last", k: 2, status: 200, runtime: "node", embedMs: null });
    expect(recorded[0].lvmMs).toBeGreaterThanOrEqual(0);
    expect(recorded[0].searchMs).toBeGreaterThan(0);
    expect(recorded[1]).toMatchObject({ endpoint: "POST /v1/next", status: 400 });
  });
});

describe("metrics database failures never fail a request", () => {
  it("a locked database: requests succeed, the failure is reported, and rows are written once the lock goes", async () => {
    const path = join(dir, "locked.sqlite");
    const errors: string[] = [];
    const metrics = openNodeMetrics(path, { flushIntervalMs: 0, onError: (m) => errors.push(m) });
    const { default: Database } = await import("better-sqlite3");
    const other = new Database(path);
    other.exec("BEGIN EXCLUSIVE");
    const lockedApp = createApp({
      store,
      exactIndex: Object.assign(new CoreIndex(await loadCore(), store), { kind: "exact-core" }),
      models: new ModelRegistry(),
      metrics,
      runtime: "node",
    });
    const search = () =>
      lockedApp.request("/v1/search", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ vector: Array.from(store.vector(1)), k: 1 }),
      });
    for (let i = 0; i < 3; i++) expect((await search()).status).toBe(200);
    await metrics.flush();
    expect(metrics.health()).toMatchObject({ state: "failing", written: 0 });
    expect(metrics.health().lastError).toMatch(/locked|busy/i);
    expect(errors).toHaveLength(1);
    expect((await search()).status).toBe(200);
    other.exec("COMMIT");
    other.close();
    await metrics.flush();
    expect(metrics.health()).toMatchObject({ state: "ok", written: 4, dropped: 0 });
    const summary = await (await lockedApp.request("/v1/metrics?window=10")).json();
    expect(summary.rows.find((r: { stage: string }) => r.stage === "search")).toMatchObject({ endpoint: "POST /v1/search", count: 4 });
    await metrics.close();
  });
});
