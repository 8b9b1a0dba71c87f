import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type MetricsSink } from "../../src/api/app.ts";
import { EmbeddingCache } from "../../src/encoders/cached-encoder.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// GET /v1/metrics reports the embedding cache's counters: stored-text hits, LRU hits and misses.
let store: ConceptStore;
let app: ReturnType<typeof createApp>;
let cleanup: () => Promise<void>;
const embedded: string[] = [];

const sink: MetricsSink = {
  record: () => {},
  health: () => ({ state: "ok", buffered: 0, written: 0, dropped: 0, rejected: 0, failures: 0, lastError: null }),
  summary: async () => ({ windowMs: 1, since: 0, rows: [], requests: [] }),
  purge: async () => ({ deleted: 0 }),
};

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(dir.path, "store")));
  const encoder: Encoder = {
    id: store.encoder.id,
    dim: store.dim,
    embed: async (texts) => {
      embedded.push(...texts);
      const out = new Float32Array(texts.length * store.dim);
      for (const [i, t] of texts.entries()) out.set(store.vector(t.length), i * store.dim);
      return out;
    },
  };
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  const embedCache = new EmbeddingCache({ maxEntries: 100 });
  const cached = embedCache.wrap(encoder);
  app = createApp({
    store,
    exactIndex: referenceIndex(store.vectors, store.dim),
    encoder: async () => cached,
    embedCache,
    models,
    metrics: sink,
    runtime: "node",
  });
});
afterAll(() => cleanup?.());

const next = (context: string[]) =>
  app.request("/v1/next", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ context, k: 2, model: "copy-last" }),
  });

describe("GET /v1/metrics embedCache", () => {
  it("counts stored-text hits, LRU hits and misses as requests arrive", async () => {
    const stored = [0, 1, 2, 3].map((row) => store.text(row));
    expect((await next([...stored, "a brand new sentence"])).status).toBe(200);
    expect((await next([...stored.slice(1), "a brand new sentence", "another new one"])).status).toBe(200);
    expect(embedded).toEqual(["a brand new sentence", "another new one"]);
    const body = await (await app.request("/v1/metrics")).json();
    expect(body.embedCache).toEqual({
      storedHits: 7,
      lruHits: 1,
      misses: 2,
      hitRate: 0.8,
      entries: 2,
      bytes: expect.any(Number),
      maxEntries: 100,
      maxBytes: 16 * 1024 * 1024,
    });
  });

  it("is documented in the OpenAPI document", async () => {
    const doc = await (await app.request("/openapi.json")).json();
    expect(Object.keys(doc.components.schemas.EmbedCacheStats.properties)).toEqual(
      expect.arrayContaining(["storedHits", "lruHits", "misses", "hitRate"]),
    );
  });
});
