import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { createUseLiteCoreEncoder } from "../../src/encoders/use-lite-core.ts";
import { USE_LITE_EDGE_FILE } from "../../src/encoders/use-lite-core-format.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { storeFromBytes } from "../../src/store/concept-store.ts";
import { REPO, tempDir } from "../helpers.ts";

// The Worker as deployed: bundled by wrangler, run by workerd (Miniflare) with a local D1 database.
let mf: Miniflare;
let cleanup: () => Promise<void>;
let nodeApp: ReturnType<typeof createApp>;
let context: number[][];

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  const build = spawnSync(
    process.execPath,
    [join(REPO, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir.path],
    { cwd: REPO, env, encoding: "utf8" },
  );
  expect(build.status, build.stderr).toBe(0);
  mf = new Miniflare({
    modules: true,
    scriptPath: join(dir.path, "worker.js"),
    modulesRoot: dir.path,
    modulesRules: [
      { type: "Data", include: ["**/*.bin"] },
      { type: "Text", include: ["**/*.jsonl"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-11-01",
    d1Databases: ["DB"],
    // Workers Static Assets as wrangler.toml declares them (public/): the encoder's weights are read through it.
    serviceBindings: {
      ASSETS: async (request: Request) => {
        const path = new URL(request.url).pathname;
        const bytes = await readFile(join(REPO, "public", path)).catch(() => undefined);
        return bytes ? new Response(new Uint8Array(bytes)) : new Response("not found", { status: 404 });
      },
    },
  });
  // The Node app over the very same bytes (INT8 store, same core .wasm) for comparison.
  const assets = join(REPO, "worker-assets");
  const bytes = async (name: string) => {
    const b = await readFile(join(assets, name));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  };
  const store = storeFromBytes({
    manifest: await readFile(join(assets, "store.json"), "utf8"),
    documents: await readFile(join(assets, "documents.jsonl"), "utf8"),
    texts: await bytes("texts.bin"),
    rows: await bytes("rows.bin"),
    int8: await bytes("vectors-i8.bin"),
    scales: await bytes("scales.bin"),
  });
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  // Node's core encoder on the same edge weights file the Worker reads.
  const core = await loadCore();
  const weights = new Uint8Array(await readFile(join(REPO, "public", USE_LITE_EDGE_FILE)));
  const encoder = createUseLiteCoreEncoder(core, weights, { maxBatchTokens: 512 });
  nodeApp = createApp({
    store,
    exactIndex: Object.assign(new CoreIndex(core, store), { kind: "exact-core" }),
    models,
    encoder: async () => encoder,
    runtime: "node",
  });
  context = [10, 11, 12, 13, 14].map((r) => Array.from(store.vector(r)));
});

afterAll(async () => {
  await mf?.dispose();
  await cleanup?.();
});

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("Cloudflare Worker (wrangler bundle in workerd)", () => {
  it("answers /v1/next with vector input exactly as the Node app does over the same bytes", async () => {
    const res = await mf.dispatchFetch("http://localhost/v1/next", json({ context, k: 5, model: "copy-last" }));
    expect(res.status).toBe(200);
    const worker = (await res.json()) as { results: { row: number; score: number }[] };
    const node = await (await nodeApp.request("/v1/next", json({ context, k: 5, model: "copy-last" }))).json();
    expect(worker.results.map((r) => r.row)).toEqual(node.results.map((r: { row: number }) => r.row));
    expect(worker.results.map((r) => r.score)).toEqual(node.results.map((r: { score: number }) => r.score));
  });

  it("validates like Node", async () => {
    const bad = await mf.dispatchFetch("http://localhost/v1/next", json({ context: [[1, 2, 3]] }));
    expect(await bad.json()).toMatchObject({ error: { code: "wrong_dim", field: "context.0" } });
  });

  it("embeds text with the core INT8 encoder: the same vectors as Node's core encoder", async () => {
    const texts = ["Rivers run to the sea.", "The Roman Empire split in two.", "Photosynthesis makes sugar from light."];
    const res = await mf.dispatchFetch("http://localhost/v1/embed", json({ texts }));
    expect(res.status).toBe(200);
    const worker = (await res.json()) as { encoder: string; vectors: number[][] };
    const node = (await (await nodeApp.request("/v1/embed", json({ texts }))).json()) as typeof worker;
    expect(worker.encoder).toBe("use-lite");
    expect(worker.vectors).toHaveLength(3);
    expect(worker.vectors).toEqual(node.vectors);
  });

  it("answers /v1/next, /v1/generate and /v1/search with text as the Node app does", async () => {
    const context = ["Rivers run to the sea.", "The sea is salty.", "Salt was traded along rivers."];
    for (const [path, body] of [
      ["/v1/next", { context, k: 5, model: "copy-last" }],
      ["/v1/generate", { context, steps: 3, model: "copy-last" }],
      ["/v1/search", { text: context[0], k: 5 }],
    ] as const) {
      const res = await mf.dispatchFetch(`http://localhost${path}`, json(body));
      expect(res.status, path).toBe(200);
      const worker = (await res.json()) as { results?: { row: number }[]; steps?: { row: number }[] };
      const node = (await (await nodeApp.request(path, json(body))).json()) as typeof worker;
      const rows = (r: typeof worker) => (r.results ?? r.steps ?? []).map((x) => x.row);
      expect(rows(worker).length, path).toBeGreaterThan(0);
      expect(rows(worker), path).toEqual(rows(node));
    }
    // The default model (the bundled edge GRU) takes text too.
    const res = await mf.dispatchFetch("http://localhost/v1/next", json({ context, k: 3 }));
    expect(res.status).toBe(200);
  });

  it("cuts a 100 kB text at 128 tokens and says so", async () => {
    const long = Array.from({ length: 2500 }, (_, i) => `Sentence ${i} tells of rivers and hills. `)
      .join("")
      .slice(0, 100_000);
    const res = await mf.dispatchFetch("http://localhost/v1/embed", json({ texts: ["Short.", long] }));
    expect(res.status).toBe(200);
    const worker = (await res.json()) as { vectors: number[][]; truncated: number[] };
    expect(worker.truncated).toEqual([1]);
    const node = (await (await nodeApp.request("/v1/embed", json({ texts: ["Short.", long] }))).json()) as typeof worker;
    expect(worker.vectors).toEqual(node.vectors);
    const next = await mf.dispatchFetch("http://localhost/v1/next", json({ context: [long, "Hills."], k: 3 }));
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ truncated: [0] });
  });

  it("refuses 10,000 texts with a 400 naming the limit, and normalises lone surrogates and control characters", async () => {
    const res = await mf.dispatchFetch("http://localhost/v1/embed", json({ texts: Array.from({ length: 10_000 }, (_, i) => `t${i}`) }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: "invalid_request", field: "texts", message: expect.stringContaining("at most 256") },
    });
    const empty = await mf.dispatchFetch("http://localhost/v1/embed", json({ texts: ["\u0000 "] }));
    expect(await empty.json()).toMatchObject({ error: { code: "invalid_request", field: "texts.0" } });
    const odd = await mf.dispatchFetch("http://localhost/v1/embed", json({ texts: ["a\uD800b\u0007c"] }));
    expect(odd.status).toBe(200);
  });

  it("records metrics in D1 and reports them at /v1/metrics", async () => {
    const health = (await (await mf.dispatchFetch("http://localhost/healthz")).json()) as { runtime: string; metrics: string };
    expect(health).toMatchObject({ runtime: "worker", metrics: "ok" });
    let rows: { endpoint: string; stage: string; count: number }[] = [];
    const nextSearch = (r: (typeof rows)[number]) => r.stage === "search" && r.endpoint === "POST /v1/next";
    for (let i = 0; i < 20 && !rows.some(nextSearch); i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = ((await (await mf.dispatchFetch("http://localhost/v1/metrics?window=10")).json()) as { rows: typeof rows }).rows;
    }
    expect(rows.find(nextSearch)).toMatchObject({ endpoint: "POST /v1/next" });
    expect(rows.find((r) => r.stage === "embed")).toBeDefined();
    const db = await mf.getD1Database("DB");
    const count = await db.prepare("select count(*) as n from request_metrics").first<{ n: number }>();
    expect(count?.n).toBeGreaterThanOrEqual(3);
  });

  it("embeds a repeated text once: the isolate's embedding cache, with its counters at /v1/metrics", async () => {
    const text = "A text only this test sends, twice.";
    for (let i = 0; i < 2; i++) expect((await mf.dispatchFetch("http://localhost/v1/embed", json({ texts: [text] }))).status).toBe(200);
    const metrics = (await (await mf.dispatchFetch("http://localhost/v1/metrics?window=10")).json()) as {
      embedCache: { lruHits: number; misses: number };
    };
    expect(metrics.embedCache.lruHits).toBeGreaterThanOrEqual(1);
    expect(metrics.embedCache.misses).toBeGreaterThanOrEqual(1);
  });
});
