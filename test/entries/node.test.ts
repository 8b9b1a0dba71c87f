import { join } from "node:path";
import { expect, it } from "vitest";
import { startNodeServer, tempDir } from "../helpers.ts";

it("npm start's entry serves the embedded demo store on PORT", async () => {
  await using dir = await tempDir();
  const server = await startNodeServer({ LVM_METRICS_DB: join(dir.path, "m.sqlite") });
  try {
    const health = await (await fetch(`${server.base}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", store: { concepts: 2398, documents: 54 } });
    // The default engine: auto's startup probe, with micro-batching on (1 ms, up to 64 rows).
    expect(health.engine).toMatchObject({ requested: "auto", microBatching: { windowMs: 1, maxBatch: 64 }, warnings: [] });
    for (const m of health.engine.models) expect(m.reason).toMatch(/^auto: (core-int8|ort-node-int8-row): .*startup probe/);
    const res = await fetch(`${server.base}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "the first crewed landing on the Moon", k: 3 }),
    });
    const { results } = await res.json();
    expect(results[0].title).toBe("Apollo 11");
    const page = await fetch(`${server.base}/`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
  } finally {
    server.stop();
  }
});

it("the engine settings come from the options, else LVM_BACKEND / LVM_BATCH_WINDOW_MS / LVM_MAX_BATCH, else auto, 1 ms, 64", async () => {
  const { engineSettings } = await import("../../src/entries/node-server.ts");
  expect(engineSettings({}, {})).toEqual({ backend: "auto", microBatch: { windowMs: 1, maxBatch: 64 } });
  const env = { LVM_BACKEND: "core", LVM_BATCH_WINDOW_MS: "0", LVM_MAX_BATCH: "8" };
  expect(engineSettings({}, env)).toEqual({ backend: "core", microBatch: { windowMs: 0, maxBatch: 8 } });
  expect(engineSettings({ backend: "ort-node-int8", microBatch: { windowMs: 2 } }, env)).toEqual({
    backend: "ort-node-int8",
    microBatch: { windowMs: 2, maxBatch: 8 },
  });
  expect(() => engineSettings({}, { LVM_BACKEND: "gpu" })).toThrow(/unknown backend 'gpu'/);
  expect(() => engineSettings({}, { LVM_BATCH_WINDOW_MS: "-1" })).toThrow(/LVM_BATCH_WINDOW_MS must be a number of milliseconds/);
  expect(() => engineSettings({}, { LVM_MAX_BATCH: "0" })).toThrow(/LVM_MAX_BATCH must be a positive integer, got '0'/);
});
