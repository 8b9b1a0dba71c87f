// Loopback load test of the Node server (`npm start` on the embedded default) at concurrency 16:
// /v1/next with vector input and with text input, against /healthz (the server's floor) in the same run; then
// /v1/next (vectors) on each engine with and without micro-batching, each in a fresh server process, as ratios
// against the core without batching measured in the same run (the machine is shared: absolute req/s drift).
//
// Engines: core (WASM INT8), ort-node-int8 (onnxruntime-node, per-row INT8 graph) and, on a real GPU,
// ort-node-webgpu. WebGPU on SwiftShader (a CPU emulation, ~0.5 s a batch-32 call) is left out unless
// LVM_BENCH_HTTP_SWIFTSHADER=1: its figures would measure the emulator. LVM_BENCH_HTTP_SECONDS sets the
// seconds per load (default 10), LVM_BENCH_HTTP_WINDOW the batching window in ms (default: the server's, 1).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectGpu, swiftShaderEnv } from "../src/lvm/runners/gpu-detect-node.ts";
import { DEFAULT_WINDOW_MS } from "../src/lvm/runners/micro-batch.ts";
import { type Load, loadTest, REPO, startNodeServer } from "./servers.ts";

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

interface EngineRun {
  engine: string;
  windowMs: number;
  /** The runner that served (from /healthz). */
  backend: string;
  reason: string;
  load: Load;
  /** Forward calls per model call under the load (1 without batching). */
  meanBatch: number;
}

/** /v1/next with vector input on one engine and window, in a fresh server. */
async function engineRun(dir: string, engine: string, windowMs: number, body: unknown, seconds: number, env: NodeJS.ProcessEnv = {}) {
  const server = await startNodeServer(dir, { ...env, LVM_BACKEND: engine, LVM_BATCH_WINDOW_MS: String(windowMs) });
  try {
    for (let i = 0; i < 20; i++) await (await post(`${server.base}/v1/next`, body)).arrayBuffer(); // warm-up
    const before = (await (await fetch(`${server.base}/healthz`)).json()) as HealthEngine;
    const load1 = await loadTest(`${server.base}/v1/next`, body, seconds);
    const after = (await (await fetch(`${server.base}/healthz`)).json()) as HealthEngine;
    const calls = (after.engine.microBatching?.calls ?? 0) - (before.engine.microBatching?.calls ?? 0);
    const modelCalls = (after.engine.microBatching?.modelCalls ?? 0) - (before.engine.microBatching?.modelCalls ?? 0);
    const model = after.engine.models[0] ?? { backend: "-", reason: "no trained model" };
    return {
      engine,
      windowMs,
      backend: model.backend,
      reason: model.reason,
      load: load1,
      meanBatch: modelCalls > 0 ? calls / modelCalls : 1,
    } satisfies EngineRun;
  } finally {
    server.stop();
  }
}

interface HealthEngine {
  engine: {
    models: { backend: string; reason: string }[];
    microBatching: { calls: number; modelCalls: number } | null;
  };
}

export async function benchHttp(seconds = Number(process.env.LVM_BENCH_HTTP_SECONDS ?? 10)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "lvm-bench-http-"));
  const vectors = new Float32Array(new Uint8Array(readFileSync(join(REPO, "demo/vectors.use-lite-512.f32"))).buffer);
  const vectorContext = [100, 101, 102, 103, 104].map((r) => Array.from(vectors.subarray(r * 512, (r + 1) * 512)));
  const vectorBody = { context: vectorContext, k: 10 };
  try {
    const base = await defaultServer(dir, vectorBody, seconds);
    return { ...base, engines: await engineTable(dir, vectorBody, seconds) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The server as `npm start` runs it (auto, micro-batching at its default): healthz floor, vectors, texts. */
async function defaultServer(dir: string, vectorBody: unknown, seconds: number): Promise<Record<string, unknown>> {
  const server = await startNodeServer(dir);
  try {
    const url = server.base;
    const corpus = join(REPO, "demo/corpus.jsonl.gz");
    const paragraphs: string[] = JSON.parse(
      (await import("node:zlib")).gunzipSync(readFileSync(corpus)).toString("utf8").trim().split("\n")[0],
    ).paragraphs;
    const textContext = paragraphs.slice(0, 5).map((p) => p.slice(0, 300));
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { default: string };
    // Warm-up: the encoder loads in the background, and the first calls compile.
    await post(`${url}/v1/next`, { context: textContext });
    const floor = await loadTest(`${url}/healthz`, undefined, Math.max(3, seconds / 2));
    const vector = await loadTest(`${url}/v1/next`, vectorBody, seconds);
    const text = await loadTest(`${url}/v1/next`, { context: textContext, k: 10 }, seconds);
    console.log(`\n## HTTP load, loopback, concurrency 16, ${seconds} s each, model '${models.default}' (Node server in its own process)`);
    console.log(`server: ${server.line.replace(/^.*?engine: /, "engine: ")}\n`);
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
    return { model: models.default, seconds, floor, vector, text, server: server.line };
  } finally {
    server.stop();
  }
}

/** /v1/next (5 vectors) per engine, without and with micro-batching, as ratios against the core without batching. */
async function engineTable(dir: string, body: unknown, seconds: number): Promise<Record<string, unknown>> {
  const window = Number(process.env.LVM_BENCH_HTTP_WINDOW ?? DEFAULT_WINDOW_MS);
  const engines: [string, NodeJS.ProcessEnv][] = [
    ["core", {}],
    ["ort-node-int8", {}],
  ];
  const gpu = detectGpu();
  let gpuNote: string;
  if (gpu.real) {
    engines.push(["ort-node-webgpu", {}]);
    gpuNote = `WebGPU on the GPU (${gpu.reason})`;
  } else if (process.env.LVM_BENCH_HTTP_SWIFTSHADER === "1" && swiftShaderEnv()) {
    engines.push(["ort-node-webgpu", swiftShaderEnv() as NodeJS.ProcessEnv]);
    gpuNote = `WebGPU on SwiftShader, a CPU emulation (${gpu.reason}): its figures measure the emulator, not a GPU`;
  } else {
    gpuNote = `no WebGPU row: no real GPU (${gpu.reason}); SwiftShader (~0.5 s a batch-32 call) only with LVM_BENCH_HTTP_SWIFTSHADER=1`;
  }
  const runs: EngineRun[] = [];
  for (const [engine, env] of engines) {
    for (const windowMs of [0, window]) {
      process.stderr.write(`http bench: ${engine}, window ${windowMs} ms...\n`);
      runs.push(await engineRun(dir, engine, windowMs, body, seconds, env));
    }
  }
  const ref = runs[0].load;
  console.log(`\n## /v1/next (5 vectors) per engine, concurrency 16, ${seconds} s each, micro-batching off (0 ms) and on (${window} ms)`);
  console.log(`${gpuNote}; ratios against core without batching in this run\n`);
  console.log("| engine | runner | window ms | req/s | p50 ms | p99 ms | mean batch | req/s vs core | p99 vs core | errors |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of runs) {
    const l = r.load;
    console.log(
      `| ${r.engine} | ${r.backend} | ${r.windowMs} | ${l.rps.toFixed(0)} | ${l.p50} | ${l.p99} | ${r.meanBatch.toFixed(1)} | ${(l.rps / ref.rps).toFixed(2)}x | ${(l.p99 / Math.max(ref.p99, 1)).toFixed(2)}x | ${l.errors + l.non2xx} |`,
    );
  }
  return { window, gpu: gpuNote, runs };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchHttp();
