// The servers the HTTP benchmarks load (loopback only): a free port, `npm start`'s entry in its own process,
// `wrangler dev`, and one autocannon run at concurrency 16.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import autocannon from "autocannon";

export const REPO = new URL("..", import.meta.url).pathname;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface NodeServer {
  base: string;
  /** The server's startup line (store, engine and why). */
  line: string;
  stop(): void;
}

/** `npm start`'s entry in its own process with `env` on top, metrics in `dir`; resolves once it listens. */
export async function startNodeServer(dir: string, env: NodeJS.ProcessEnv = {}): Promise<NodeServer> {
  const port = await freePort();
  // As `npm start` runs it: a larger young generation halves scavenges of the 50 KB vector bodies
  // (measured here: p99 51 -> 49 ms, 859 -> 966 req/s).
  const server = spawn(process.execPath, ["--max-semi-space-size=64", join(REPO, "src/entries/node.ts")], {
    env: { ...process.env, PORT: String(port), LVM_METRICS_DB: join(dir, `metrics-${port}.sqlite`), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.on("data", (d) => {
        out += d;
        if (out.includes("listening")) resolve();
      });
      server.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    });
  } catch (error) {
    server.kill();
    throw error;
  }
  const line = out.split("\n").find((l) => l.includes("listening")) ?? "";
  return { base: `http://127.0.0.1:${port}`, line, stop: () => server.kill() };
}

/** `wrangler dev` (offline, on loopback) with `args` added; resolves once it is ready. */
export async function startWranglerDev(args: string[] = []): Promise<{ base: string; inspector: number; child: ChildProcess }> {
  const [port, inspector] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      join(REPO, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      ...args,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
    ],
    {
      cwd: REPO,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stdout?.on("data", (d) => {
    log += d;
  });
  child.stderr?.on("data", (d) => {
    log += d;
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited: ${log.slice(-2000)}`);
    if (/Ready on/.test(log)) return { base: `http://127.0.0.1:${port}`, inspector, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`wrangler dev did not start: ${log.slice(-2000)}`);
}

export interface Load {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
}

/** `seconds` of autocannon at concurrency 16: GET without a body, else POST of `body` (a string is sent as is). */
export async function loadTest(url: string, body: unknown, seconds: number): Promise<Load> {
  const result = await autocannon({
    url,
    connections: 16,
    duration: seconds,
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
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
