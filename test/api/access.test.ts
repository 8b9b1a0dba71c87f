import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type RateLimiter } from "../../src/api/app.ts";
import { accessSettings } from "../../src/api/middleware/access-settings.ts";
import { tokenBucketLimiter } from "../../src/api/middleware/token-bucket.ts";
import { workersRateLimiter } from "../../src/api/middleware/workers-rate-limit.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// Access control of the API (issue 13): admin key and API keys checked in constant time (hono's bearerAuth), CORS
// opt-in, the per-client rate limit with Retry-After, and how the OpenAPI document describes them.

let store: ConceptStore;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(dir.path, "store")));
});
afterAll(() => cleanup?.());

type Deps = Parameters<typeof createApp>[0];
function app(extra: Partial<Deps> = {}) {
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  return createApp({ store, exactIndex: referenceIndex(store.vectors, store.dim), models, runtime: "node", adminKey: "adm1n", ...extra });
}

const search = (a: ReturnType<typeof app>, headers: Record<string, string> = {}) =>
  a.request("/v1/search", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ vector: Array.from(store.vector(7)), k: 1 }),
  });

describe("admin key", () => {
  it("is accepted as a bearer token or in x-api-key, anything else is a 401 in our error shape", async () => {
    const a = app();
    const reload = (headers: Record<string, string>) => a.request("/v1/admin/reload", { method: "POST", headers });
    expect((await reload({ authorization: "Bearer adm1n" })).status).toBe(501); // no reloadModels here: past the check
    expect((await reload({ "x-api-key": "adm1n" })).status).toBe(501);
    const refused: Record<string, string>[] = [
      {},
      { authorization: "Bearer adm1" },
      { authorization: "Bearer adm1nx" },
      { authorization: "Basic adm1n" },
      { "x-api-key": "nope" },
      { authorization: "Bearer a b" },
    ];
    for (const headers of refused) {
      const res = await reload(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("LVM_ADMIN_KEY") } });
    }
  });
});

describe("API keys", () => {
  it("leave /v1/* open when none are set", async () => {
    expect((await search(app())).status).toBe(200);
  });

  it("need one of LVM_API_KEYS on /v1/*, not on /healthz, and not instead of the admin key", async () => {
    const a = app({ apiKeys: ["k-one", "k-two"] });
    const missing = await search(a);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("LVM_API_KEYS") } });
    expect((await search(a, { authorization: "Bearer k-three" })).status).toBe(401);
    expect((await search(a, { authorization: "Bearer k-two" })).status).toBe(200);
    expect((await search(a, { "x-api-key": "k-one" })).status).toBe(200);
    expect((await a.request("/v1/models")).status).toBe(401);
    expect((await a.request("/healthz")).status).toBe(200);
    // Admin routes answer to the admin key only.
    expect((await a.request("/v1/admin/reload", { method: "POST", headers: { authorization: "Bearer adm1n" } })).status).toBe(501);
    expect((await a.request("/v1/admin/reload", { method: "POST", headers: { authorization: "Bearer k-one" } })).status).toBe(401);
  });
});

describe("CORS", () => {
  const preflight = (a: ReturnType<typeof app>, origin: string) =>
    a.request("/v1/next", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
    });

  it("is off unless origins are set (a preflight from another origin finds no route)", async () => {
    expect((await preflight(app(), "https://page.example.com")).status).toBe(404);
  });

  it("answers preflights from a listed origin, before the key check, and marks every answer, errors included", async () => {
    const a = app({ corsOrigins: ["https://page.example.com"], apiKeys: ["k"] });
    const ok = await preflight(a, "https://page.example.com");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://page.example.com");
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    const other = await preflight(a, "https://evil.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const refused = await search(a, { origin: "https://page.example.com" });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe("https://page.example.com");
    const answered = await search(a, { origin: "https://page.example.com", authorization: "Bearer k" });
    expect(answered.status).toBe(200);
    expect(answered.headers.get("access-control-allow-origin")).toBe("https://page.example.com");
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After in our error shape once a client's budget is spent, per client", async () => {
    let now = 0;
    const limiter = tokenBucketLimiter({ requests: 3, perSeconds: 6, now: () => now });
    let address = "10.0.0.1";
    const a = app({ rateLimit: { limiter, clientAddress: () => address } });
    for (let i = 0; i < 3; i++) expect((await search(a)).status).toBe(200);
    const refused = await search(a);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("2"); // one token per 2 s
    expect(await refused.json()).toEqual({ error: { code: "rate_limited", message: expect.stringContaining("retry after 2 s") } });
    expect((await a.request("/healthz")).status).toBe(429); // every documented route counts
    address = "10.0.0.2";
    expect((await search(a)).status).toBe(200);
    address = "10.0.0.1";
    now = 2000;
    expect((await search(a)).status).toBe(200);
    expect((await search(a)).status).toBe(429);
  });

  it("keys by API key where the request has one, else by address", async () => {
    const seen: string[] = [];
    const limiter: RateLimiter = {
      limit: (key) => {
        seen.push(key);
        return { ok: true, retryAfterS: 0 };
      },
    };
    const a = app({ apiKeys: ["k-one", "k-two"], rateLimit: { limiter, clientAddress: () => "10.0.0.9" } });
    await search(a, { authorization: "Bearer k-two" });
    await a.request("/healthz");
    expect(seen).toEqual(["key:1", "ip:10.0.0.9"]);
  });

  it("token bucket: refills over time, forgets the stalest client beyond maxClients", () => {
    let now = 0;
    const limiter = tokenBucketLimiter({ requests: 1, perSeconds: 1, maxClients: 2, now: () => now });
    expect(limiter.limit("a")).toEqual({ ok: true, retryAfterS: 0 });
    expect(limiter.limit("a")).toMatchObject({ ok: false });
    limiter.limit("b");
    limiter.limit("c"); // "a" forgotten: it starts full again
    expect(limiter.limit("a")).toEqual({ ok: true, retryAfterS: 0 });
    now = 500;
    expect((limiter.limit("a") as { retryAfterS: number }).retryAfterS).toBeCloseTo(0.5);
  });

  it("the Workers binding behind the same interface: refusal retries after its period", async () => {
    const keys: string[] = [];
    const binding = {
      limit: async ({ key }: { key: string }) => {
        keys.push(key);
        return { success: keys.length < 2 };
      },
    };
    const limiter = workersRateLimiter(binding, 10);
    expect(await limiter.limit("ip:1")).toEqual({ ok: true, retryAfterS: 10 });
    expect(await limiter.limit("ip:1")).toEqual({ ok: false, retryAfterS: 10 });
  });
});

describe("settings from the environment", () => {
  it("parses keys, origins and the limit, and names a malformed variable", () => {
    expect(accessSettings({})).toEqual({ apiKeys: [], corsOrigins: [], rateLimit: undefined });
    expect(
      accessSettings({
        LVM_API_KEYS: " a1, b2 ,",
        LVM_CORS_ORIGINS: "https://x.example.com,http://localhost:5173",
        LVM_RATE_LIMIT: "600/60",
      }),
    ).toEqual({
      apiKeys: ["a1", "b2"],
      corsOrigins: ["https://x.example.com", "http://localhost:5173"],
      rateLimit: { requests: 600, perSeconds: 60 },
    });
    expect(() => accessSettings({ LVM_API_KEYS: "has space" })).toThrow(/LVM_API_KEYS/);
    expect(() => accessSettings({ LVM_CORS_ORIGINS: "https://x.example.com/path" })).toThrow(/LVM_CORS_ORIGINS/);
    expect(() => accessSettings({ LVM_RATE_LIMIT: "fast" })).toThrow(/LVM_RATE_LIMIT/);
    expect(accessSettings({ LVM_RATE_LIMIT: "off" }).rateLimit).toBeUndefined();
  });
});

describe("the OpenAPI document", () => {
  it("documents 429 with Retry-After on every route, 413 on every body, the optional API key and its 401 on /v1/*", async () => {
    const doc = (await (await app().request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }>; security?: object[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["apiKey", "apiKeyHeader", "adminBearer"]));
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method} ${path}`;
        expect(op.responses["429"]?.headers, where).toHaveProperty("Retry-After");
        if (method === "post") expect(op.responses, where).toHaveProperty("413");
        const keyed = path.startsWith("/v1/") && !path.startsWith("/v1/admin/");
        if (keyed) {
          expect(op.responses, where).toHaveProperty("401");
          expect(op.security, where).toEqual([{ apiKey: [] }, { apiKeyHeader: [] }, {}]);
        }
      }
    }
  });
});
