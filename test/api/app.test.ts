import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { loadUseLiteEncoder } from "../../src/encoders/use-lite-node.ts";
import { exactSearch } from "../../src/index/exact.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, cosine, tempDir } from "../helpers.ts";

let store: ConceptStore;
let encoder: Promise<Encoder>;
let app: ReturnType<typeof createApp>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(dir.path));
  encoder = loadUseLiteEncoder();
  app = createApp({ store, encoder: () => encoder });
});
afterAll(async () => {
  (await encoder)?.dispose?.();
  await cleanup();
});

const post = (path: string, body: unknown) =>
  app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("HTTP API (foundation endpoints)", () => {
  it("GET /healthz reports the store", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ok",
      store: { concepts: 6399, documents: 147, encoder: { id: "use-lite", dim: 512 } },
    });
  });

  it("POST /v1/search with a stored vector returns that concept first, with provenance", async () => {
    const row = 1234;
    const res = await post("/v1/search", { vector: Array.from(store.vector(row)), k: 5 });
    expect(res.status).toBe(200);
    const { results } = await res.json();
    expect(results).toHaveLength(5);
    expect(results[0]).toMatchObject({
      row,
      text: store.text(row),
      documentId: store.concept(row).documentId,
      position: store.position(row),
    });
    expect(results[0].score).toBeCloseTo(1, 5);
    expect(results.map((r: { row: number }) => r.row)).toEqual(Array.from(exactSearch(store.vectors, 512, store.vector(row), 5).rows));
  });

  it("POST /v1/search with text finds the paragraph it paraphrases", async () => {
    const res = await post("/v1/search", { text: store.text(42), k: 3 });
    expect(res.status).toBe(200);
    const { results, timings } = await res.json();
    expect(results[0].row).toBe(42);
    expect(timings.embedMs).toBeGreaterThan(0);
  });

  it("POST /v1/embed returns one unit vector per text, matching the store's vector of the same text", async () => {
    const res = await post("/v1/embed", { texts: [store.text(7), "Another sentence."] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ encoder: "use-lite", dim: 512 });
    expect(body.vectors).toHaveLength(2);
    expect(cosine(Float32Array.from(body.vectors[0]), store.vector(7))).toBeGreaterThan(0.999);
  });

  it.each([
    ["/v1/search", { vector: [1, 2, 3] }, 400, "wrong_dim", "vector"],
    ["/v1/search", { k: 5 }, 400, "invalid_request", "text"],
    ["/v1/search", { text: "a", vector: [1] }, 400, "invalid_request", "text"],
    ["/v1/search", { text: "a", k: 1000 }, 400, "invalid_request", "k"],
    ["/v1/search", { vector: new Array(512).fill(0) }, 400, "zero_vector", "vector"],
    ["/v1/embed", { texts: [] }, 400, "invalid_request", "texts"],
    ["/v1/embed", { texts: ["ok", "  "] }, 400, "invalid_request", "texts.1"],
    ["/v1/embed", "{broken", 400, "invalid_json", undefined],
  ])("%s %j → %i %s", async (path, body, status, code, field) => {
    const res = await post(path, body);
    expect(res.status).toBe(status);
    const { error } = await res.json();
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message.length).toBeGreaterThan(5);
  });

  it("rejects NaN in a vector (JSON cannot carry it, so it arrives as null)", async () => {
    const vector: (number | null)[] = Array.from(store.vector(0));
    vector[3] = null;
    const res = await post("/v1/search", { vector });
    expect(res.status).toBe(400);
    expect((await res.json()).error.field).toBe("vector.3");
  });

  it("answers unknown routes and oversized bodies with JSON errors", async () => {
    expect((await app.request("/nope")).status).toBe(404);
    const res = await post("/v1/embed", { texts: ["x".repeat(2 * 1024 * 1024)] });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("body_too_large");
  });
});
