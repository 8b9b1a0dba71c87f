// The Worker under sustained load in local workerd (Miniflare, the runtime `wrangler dev` uses): the isolate's own
// memory — its JS heap after a full GC and its ArrayBuffer backing stores, read through workerd's inspector, plus the
// WASM core's memory (GET /_memory under LVM_DEBUG_MEMORY=1: the inspector does not count it) — levels off and stays well under a deployed isolate's 128 MB. The process's resident
// size is reported too but not bounded: it includes the local D1 simulation and V8's uncollected garbage.
// `npm test` runs a short version (about 25 s); `npm run test:reliability` the long one (LVM_SOAK_SECONDS, default 300).
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeVectorB64 } from "../../src/predict/vector-b64.ts";
import { REPO, tempDir } from "../helpers.ts";

const LONG = process.env.LVM_RELIABILITY === "long";
const TOTAL_S = LONG ? Number(process.env.LVM_SOAK_SECONDS ?? 300) : 16;
const WINDOWS = LONG ? 10 : 4;
const MB = 1024 * 1024;

let mf: Miniflare;
let outdir: string;
let url: URL;
let inspector: string;
let cleanup: () => Promise<void>;

const workerOptions = () => ({
  modules: true,
  scriptPath: join(outdir, "worker.js"),
  modulesRoot: outdir,
  modulesRules: [
    { type: "Data" as const, include: ["**/*.bin"] },
    { type: "Text" as const, include: ["**/*.jsonl"] },
    { type: "CompiledWasm" as const, include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2025-11-01",
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  outdir = join(dir.path, "bundle");
  const build = spawnSync(
    process.execPath,
    [join(REPO, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outdir],
    {
      cwd: REPO,
      env,
      encoding: "utf8",
    },
  );
  expect(build.status, build.stderr).toBe(0);
  const inspectorPort = await freePort();
  mf = new Miniflare({
    ...workerOptions(),
    // A file-backed D1 database, as `wrangler dev` has; no rate limit binding: the load comes from one address.
    d1Databases: ["DB"],
    d1Persist: join(dir.path, "d1"),
    bindings: { LVM_DEBUG_MEMORY: "1" },
    inspectorPort,
  });
  url = await mf.ready;
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const user = targets.find((t) => t.webSocketDebuggerUrl.includes("core:user"));
  if (!user) throw new Error(`no user worker among the inspector's targets: ${JSON.stringify(targets)}`);
  inspector = user.webSocketDebuggerUrl;
}, 180_000);

afterAll(async () => {
  await mf?.dispose();
  await cleanup?.();
});

/** The user isolate's memory after a full GC: JS heap in use, ArrayBuffer backing stores, the WASM core's memory. */
async function isolateMemory(): Promise<{ heap: number; backing: number; wasm: number }> {
  const ws = new WebSocket(inspector);
  let id = 0;
  const pending = new Map<number, (result: Record<string, number>) => void>();
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method }));
    });
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: Record<string, number> };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  // An idle isolate handles inspector messages only when a request wakes it.
  const poke = setInterval(
    () =>
      void fetch(new URL("/healthz", url)).then(
        (r) => r.arrayBuffer(),
        () => {},
      ),
    100,
  );
  try {
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.getHeapUsage");
    const { wasmMemoryBytes } = (await (await fetch(new URL("/_memory", url))).json()) as { wasmMemoryBytes: number };
    return { heap: usage.usedSize, backing: usage.backingStorageSize, wasm: wasmMemoryBytes };
  } finally {
    clearInterval(poke);
    ws.close();
  }
}

const residentMB = () => {
  const ps = spawnSync("ps", ["-o", "rss=", "--ppid", String(process.pid)], { encoding: "utf8" }).stdout;
  return ps
    .trim()
    .split(/\s+/)
    .map((kb) => Math.round(Number(kb) / 1024))
    .filter((n) => n > 0);
};

describe("the Worker under load in local workerd", () => {
  it("keeps its isolate's memory level and well under 128 MB", async () => {
    const bytes = await readFile(join(REPO, "demo/vectors.use-lite-512.f32"));
    const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    const body = (first: number) =>
      JSON.stringify({
        context: [0, 1, 2, 3, 4].map((i) => encodeVectorB64(vectors.subarray((first + i) * 512, (first + i + 1) * 512))),
        k: 3,
      });
    const requests = [0, 100, 200, 300].map((first) => ({
      method: "POST" as const,
      body: body(first),
      headers: { "content-type": "application/json" },
    }));
    const samples: { requests: number; isolate: number }[] = [];
    let total = 0;
    for (let w = 0; w < WINDOWS; w++) {
      const run = await autocannon({ url: new URL("/v1/next", url).href, connections: 16, duration: TOTAL_S / WINDOWS, requests });
      expect(run.errors + run.timeouts + run.non2xx, `window ${w}`).toBe(0);
      total += run.requests.total;
      const m = await isolateMemory();
      samples.push({ requests: total, isolate: (m.heap + m.backing + m.wasm) / MB });
      console.log(
        `window ${w + 1}/${WINDOWS}: ${total} requests, p99 ${run.latency.p99} ms; isolate heap ${(m.heap / MB).toFixed(1)} MB + backing stores ${(m.backing / MB).toFixed(1)} MB + wasm ${(m.wasm / MB).toFixed(1)} MB; workerd resident ${residentMB().join(" + ")} MB`,
      );
    }
    const warm = samples[1];
    const last = samples[samples.length - 1];
    const peak = Math.max(...samples.map((s) => s.isolate));
    // Well under 128 MB, and no growth after warm-up beyond 25 % + 4 MB (GC timing, JIT code, V8's caches).
    expect(peak).toBeLessThan(64);
    expect(last.isolate).toBeLessThan(warm.isolate * 1.25 + 4);
  });
});

describe("the Worker's access settings in local workerd", () => {
  it("needs LVM_API_KEYS, answers CORS preflights, and refuses with 429 + Retry-After past the rate limit binding", async () => {
    const limited = new Miniflare({
      ...workerOptions(),
      bindings: { LVM_API_KEYS: "w-key", LVM_CORS_ORIGINS: "https://page.example.com" },
      ratelimits: { RATE_LIMITER: { namespace_id: "1301", simple: { limit: 3, period: 10 } } },
    });
    try {
      const base = await limited.ready;
      const models = (headers: Record<string, string> = {}) =>
        limited.dispatchFetch(new URL("/v1/models", base), { headers: { "cf-connecting-ip": "192.0.2.1", ...headers } });
      expect((await models()).status).toBe(401);
      const preflight = await limited.dispatchFetch(new URL("/v1/next", base), {
        method: "OPTIONS",
        headers: { origin: "https://page.example.com", "access-control-request-method": "POST" },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://page.example.com");
      const statuses: number[] = [];
      let refused: Awaited<ReturnType<typeof models>> | undefined;
      for (let i = 0; i < 6; i++) {
        const res = await models({ authorization: "Bearer w-key" });
        statuses.push(res.status);
        if (res.status === 429) refused ??= res;
        else await res.arrayBuffer();
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(refused?.headers.get("retry-after")).toBe("10");
      expect(await refused?.json()).toMatchObject({ error: { code: "rate_limited" } });
    } finally {
      await limited.dispose();
    }
  });
});
