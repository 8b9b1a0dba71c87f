// Loopback load test of the Node server (`npm start` on the embedded default) at concurrency 16:
// /v1/next with vector input and with text input, against /healthz (the server's floor) in the same run.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";

const REPO = new URL("..", import.meta.url).pathname;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Load {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, body: unknown | undefined, seconds: number): Promise<Load> {
  const result = await autocannon({
    url,
    connections: 16,
    duration: seconds,
    method: body ? "POST" : "GET",
    headers: { "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export async function benchHttp(seconds = Number(process.env.LVM_BENCH_HTTP_SECONDS ?? 10)): Promise<Record<string, unknown>> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lvm-bench-http-"));
  // As `npm start` runs it: a larger young generation halves scavenges of the 50 KB vector bodies
  // (measured here: p99 51 -> 49 ms, 859 -> 966 req/s).
  const server = spawn(process.execPath, ["--max-semi-space-size=64", join(REPO, "src/entries/node.ts")], {
    env: { ...process.env, PORT: String(port), LVM_METRICS_DB: join(dir, "metrics.sqlite") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      server.stdout.on("data", (d) => {
        out += d;
        if (out.includes("listening")) resolve();
      });
      server.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const vectors = new Float32Array(new Uint8Array(readFileSync(join(REPO, "demo/vectors.use-lite-512.f32"))).buffer);
    const vectorContext = [100, 101, 102, 103, 104].map((r) => Array.from(vectors.subarray(r * 512, (r + 1) * 512)));
    const corpus = join(REPO, "demo/corpus.jsonl.gz");
    const paragraphs: string[] = JSON.parse(
      (await import("node:zlib")).gunzipSync(readFileSync(corpus)).toString("utf8").trim().split("\n")[0],
    ).paragraphs;
    const textContext = paragraphs.slice(0, 5).map((p) => p.slice(0, 300));
    const models = (await (await fetch(`${base}/v1/models`)).json()) as { default: string };
    // Warm-up: the encoder loads in the background, and the first calls compile.
    await fetch(`${base}/v1/next`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context: textContext }),
    });
    const floor = await load(`${base}/healthz`, undefined, Math.max(3, seconds / 2));
    const vector = await load(`${base}/v1/next`, { context: vectorContext, k: 10 }, seconds);
    const text = await load(`${base}/v1/next`, { context: textContext, k: 10 }, seconds);
    console.log(`\n## HTTP load, loopback, concurrency 16, ${seconds} s each, model '${models.default}' (Node server in its own process)`);
    console.log("| request | req/s | p50 ms | p99 ms | errors + non-2xx | p99 / healthz p99 |\n|---|---|---|---|---|---|");
    for (const [name, r] of [
      ["GET /healthz (floor)", floor],
      ["POST /v1/next, 5 vectors", vector],
      ["POST /v1/next, 5 texts (embedding)", text],
    ] as const) {
      console.log(
        `| ${name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors + r.non2xx} | ${(r.p99 / Math.max(floor.p99, 1)).toFixed(1)}x |`,
      );
    }
    console.log(`target p99 < 50 ms with vector input: ${vector.p99 < 50 ? "met" : "NOT met"} (${vector.p99} ms)`);
    return { model: models.default, seconds, floor, vector, text };
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchHttp();
