import { mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO, startNodeServer, tempDir } from "../helpers.ts";

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

it("the page's decoder files come from the server's decoder: LVM_DECODER=<dir> serves that directory's, off serves none", async () => {
  await using dir = await tempDir();
  // The shipped decoder with model.json rewritten (same content, other bytes), so the test sees which copy is served.
  const decoder = join(dir.path, "decoder");
  await mkdir(decoder);
  const manifest = `${JSON.stringify(JSON.parse(await readFile(join(REPO, "models/decoder/model.json"), "utf8")), null, 2)}\n`;
  await writeFile(join(decoder, "model.json"), manifest);
  await symlink(join(REPO, "models/decoder/weights.bin"), join(decoder, "weights.bin"));
  await writeFile(join(decoder, "notes.txt"), "not for the page");
  const served = await startNodeServer({ LVM_METRICS_DB: join(dir.path, "a.sqlite"), LVM_DECODER: decoder });
  try {
    expect(await (await fetch(`${served.base}/decoder/model.json`)).text()).toBe(manifest);
    const weights = await fetch(`${served.base}/decoder/weights.bin`);
    expect(Number(weights.headers.get("content-length"))).toBe((await stat(join(REPO, "models/decoder/weights.bin"))).size);
    await weights.body?.cancel();
    expect((await fetch(`${served.base}/decoder/notes.txt`)).status).toBe(404);
  } finally {
    served.stop();
  }
  const off = await startNodeServer({ LVM_METRICS_DB: join(dir.path, "b.sqlite"), LVM_DECODER: "off" });
  try {
    // public/decoder/ holds the build's copy of the shipped decoder; a server without a decoder must not hand it out.
    for (const file of ["model.json", "weights.bin"]) expect((await fetch(`${off.base}/decoder/${file}`)).status, file).toBe(404);
    expect((await (await fetch(`${off.base}/healthz`)).json()).decoder).toBe(false);
  } finally {
    off.stop();
  }
});
