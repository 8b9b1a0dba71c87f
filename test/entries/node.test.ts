import { join } from "node:path";
import { expect, it } from "vitest";
import { startNodeServer, tempDir } from "../helpers.ts";

it("npm start's entry serves the embedded demo store on PORT", async () => {
  await using dir = await tempDir();
  const server = await startNodeServer({ LVM_METRICS_DB: join(dir.path, "m.sqlite") });
  try {
    const health = await (await fetch(`${server.base}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", store: { concepts: 2398, documents: 54 } });
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
