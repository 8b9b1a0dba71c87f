import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
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
  nodeApp = createApp({
    store,
    exactIndex: Object.assign(new CoreIndex(await loadCore(), store), { kind: "exact-core" }),
    models,
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

  it("refuses text input with a clear error (no encoder on the edge) and validates like Node", async () => {
    const res = await mf.dispatchFetch("http://localhost/v1/next", json({ context: ["some text"] }));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "text_unsupported", field: "context.0" } });
    const bad = await mf.dispatchFetch("http://localhost/v1/next", json({ context: [[1, 2, 3]] }));
    expect(await bad.json()).toMatchObject({ error: { code: "wrong_dim", field: "context.0" } });
  });

  it("records metrics in D1 and reports them at /v1/metrics", async () => {
    const health = (await (await mf.dispatchFetch("http://localhost/healthz")).json()) as { runtime: string; metrics: string };
    expect(health).toMatchObject({ runtime: "worker", metrics: "ok" });
    let rows: { endpoint: string; stage: string; count: number }[] = [];
    for (let i = 0; i < 20 && !rows.some((r) => r.stage === "search"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = ((await (await mf.dispatchFetch("http://localhost/v1/metrics?window=10")).json()) as { rows: typeof rows }).rows;
    }
    expect(rows.find((r) => r.stage === "search")).toMatchObject({ endpoint: "POST /v1/next" });
    const db = await mf.getD1Database("DB");
    const count = await db.prepare("select count(*) as n from request_metrics").first<{ n: number }>();
    expect(count?.n).toBeGreaterThanOrEqual(3);
  });
});
