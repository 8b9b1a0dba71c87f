import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO } from "../helpers.ts";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

it("npm start's entry serves the embedded demo store on PORT", async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO, "src/entries/node.ts")], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let output = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        output += d;
        if (output.includes("listening")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    });
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", store: { concepts: 2398, documents: 54 } });
    const res = await fetch(`http://127.0.0.1:${port}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "the first crewed landing on the Moon", k: 3 }),
    });
    const { results } = await res.json();
    expect(results[0].title).toBe("Apollo 11");
  } finally {
    child.kill();
  }
});
