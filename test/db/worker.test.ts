import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { describe, expect, it } from "vitest";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

describe("metrics in the Worker runtime", () => {
  it("a bundled Worker migrates D1 from the embedded SQL and records every request", async () => {
    const bundle = await build({
      entryPoints: [new URL("./fixtures/metrics-worker.ts", import.meta.url).pathname],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      write: false,
      logLevel: "silent",
    });
    const script = bundle.outputFiles[0].text;
    expect(script).not.toMatch(/from\s*["']node:/); // nothing Node-only (fs) reached the bundle
    const mf = new Miniflare({ modules: true, script, d1Databases: ["DB"], compatibilityDate: "2025-01-01" });
    try {
      for (let i = 0; i < 5; i++) expect((await mf.dispatchFetch("http://localhost/v1/predict")).status).toBe(200);
      expect((await mf.dispatchFetch("http://localhost/v1/predict?fail")).status).toBe(500);
      const { health, summary } = (await (await mf.dispatchFetch("http://localhost/summary")).json()) as {
        health: { state: string; written: number };
        summary: { rows: { stage: string; count: number }[]; requests: unknown[] };
      };
      expect(health).toMatchObject({ state: "ok", written: 6 });
      expect(summary.rows.map((r) => [r.stage, r.count])).toEqual([
        ["embed", 6],
        ["total", 6],
      ]);
      expect(summary.requests).toEqual([
        { endpoint: "/v1/predict", status: 200, count: 5 },
        { endpoint: "/v1/predict", status: 500, count: 1 },
      ]);
    } finally {
      await mf.dispose();
    }
  });
});
