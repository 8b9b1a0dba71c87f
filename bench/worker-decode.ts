// `npm run bench -- worker-decode`: generated text at the edge. POST /v1/next with decode: true, one sentence
// decoded per request, in the Worker under `wrangler dev` (local workerd) and on the Node server, the same decoder
// (INT8 on the WASM core in both, re-embedding with the core INT8 USE-lite), store, model and decodeOptions; requests
// alternate between the two so both see the same machine load. p50/p95 of the request and of its decode stage
// (timings.decodeMs), per refinement setting; the first decode request of each (it loads the decoder).
// The decoder: LVM_BENCH_DECODER=<dir>, else models/decoder/; the Worker's assets are built for it in a temp folder
// (worker-assets and public/ stay as they are) and aliased in by a temp copy of wrangler.toml (`wrangler dev` reads
// aliases from its configuration only).
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWorkerAssets } from "../scripts/build-worker-assets.ts";
import { DEFAULT_BEAM, DEFAULT_FEEDBACK, DEFAULT_PATIENCE, DEFAULT_SAMPLES, DEFAULT_STEPS } from "../src/decoder/refine.ts";
import { USE_LITE_EDGE_FILE } from "../src/encoders/use-lite-core-format.ts";
import { REPO, startNodeServer, startWranglerDev } from "./servers.ts";
import { quantile } from "./timing.ts";

const REQUESTS = Number(process.env.LVM_BENCH_DECODE_REQUESTS ?? 50);
const SETTINGS: { name: string; options: Record<string, number> }[] = [
  {
    name: `default (steps ${DEFAULT_STEPS}, patience ${DEFAULT_PATIENCE}, beam ${DEFAULT_BEAM}, samples ${DEFAULT_SAMPLES}, feedback ${DEFAULT_FEEDBACK})`,
    options: {},
  },
  { name: "beam 4, no refinement (steps 0, samples 0)", options: { steps: 0, samples: 0 } },
  // The default before session 8, and the next slower setting (docs/decoder.md: 0.001 more validation cosine).
  { name: "steps 2, patience 0", options: { steps: 2, patience: 0 } },
  { name: "steps 4, patience 1", options: { steps: 4, patience: 1 } },
];

interface Sample {
  ms: number;
  decodeMs: number;
  cosine: number;
}

async function decodeNext(base: string, row: number, options: Record<string, number>): Promise<Sample> {
  const context = [0, 1, 2, 3, 4].map((i) => ({ row: row + i }));
  const started = performance.now();
  const res = await fetch(`${base}/v1/next`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ context, k: 5, decode: true, decodeOptions: { seed: 1, ...options } }),
  });
  const body = (await res.json()) as { timings?: { decodeMs?: number }; generated?: { cosine: number }; error?: unknown };
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${base} /v1/next answered ${res.status}: ${JSON.stringify(body)}`);
  return { ms, decodeMs: body.timings?.decodeMs ?? Number.NaN, cosine: body.generated?.cosine ?? Number.NaN };
}

function summary(samples: Sample[]) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const decode = samples.map((s) => s.decodeMs).sort((a, b) => a - b);
  const meanCosine = samples.reduce((n, s) => n + s.cosine, 0) / samples.length;
  return {
    p50: quantile(ms, 0.5),
    p95: quantile(ms, 0.95),
    decodeP50: quantile(decode, 0.5),
    decodeP95: quantile(decode, 0.95),
    meanCosine,
  };
}

export async function benchWorkerDecode(): Promise<Record<string, unknown>> {
  const decoder = process.env.LVM_BENCH_DECODER ?? join(REPO, "models/decoder");
  console.log(
    `\n## Generated text at the edge: POST /v1/next with decode: true, Worker (wrangler dev) against Node, ${REQUESTS} requests each per setting`,
  );
  const dir = await mkdtemp(join(tmpdir(), "lvm-bench-decode-"));
  try {
    const publicDir = join(dir, "public");
    await mkdir(publicDir);
    await copyFile(join(REPO, "public", USE_LITE_EDGE_FILE), join(publicDir, USE_LITE_EDGE_FILE));
    const assets = await buildWorkerAssets({ out: join(dir, "worker-assets"), publicDir, decoder }).catch((error) => {
      throw new Error(`no decoder to measure at ${decoder} (set LVM_BENCH_DECODER=<dir>): ${error.message}`);
    });
    console.log(
      `decoder ${decoder} (${((assets.decoderBytes ?? 0) / 1e6).toFixed(1)} MB weights.bin), model ${assets.model ?? "copy-last"}`,
    );
    const config = (await readFile(join(REPO, "wrangler.toml"), "utf8"))
      .replace(/^main = .*$/m, `main = ${JSON.stringify(join(REPO, "src/entries/worker.ts"))}`)
      .replace(/^directory = .*$/m, `directory = ${JSON.stringify(publicDir)}`);
    const alias = `\n[alias]\n"../../worker-assets/index.ts" = ${JSON.stringify(join(dir, "worker-assets", "index.ts"))}\n`;
    await writeFile(join(dir, "wrangler.toml"), config + alias);
    const dev = await startWranglerDev([
      "--config",
      join(dir, "wrangler.toml"),
      "--var",
      "LVM_RATE_LIMIT:off",
      "--var",
      "LVM_DEBUG_MEMORY:1",
    ]);
    const node = await startNodeServer(dir, { LVM_DECODER: decoder }).catch((error) => {
      dev.child.kill();
      throw error;
    });
    try {
      const servers = { worker: dev.base, node: node.base };
      const health = (await (await fetch(`${dev.base}/healthz`)).json()) as { store: { concepts: number } };
      const lastStart = health.store.concepts - 5; // a context is 5 consecutive stored rows
      const first: Record<string, number> = {};
      for (const [name, base] of Object.entries(servers)) first[name] = (await decodeNext(base, 0, {})).ms;
      console.log(`first decode request (loads the decoder): Worker ${first.worker.toFixed(0)} ms, Node ${first.node.toFixed(0)} ms`);
      const rows: Record<string, unknown>[] = [];
      console.log("| setting | runtime | p50 ms | p95 ms | decode p50 ms | decode p95 ms | mean cosine |\n|---|---|---|---|---|---|---|");
      for (const { name, options } of SETTINGS) {
        const samples: Record<string, Sample[]> = { worker: [], node: [] };
        for (let w = 0; w < 3; w++) for (const base of Object.values(servers)) await decodeNext(base, 100 + w, options);
        // The same contexts on both, alternating, so the load of the shared machine falls on both alike.
        for (let r = 0; r < REQUESTS; r++)
          for (const [runtime, base] of Object.entries(servers))
            samples[runtime].push(await decodeNext(base, (200 + 37 * r) % lastStart, options));
        for (const runtime of ["worker", "node"]) {
          const s = summary(samples[runtime]);
          rows.push({ setting: name, options, runtime, ...s });
          console.log(
            `| ${name} | ${runtime} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.decodeP50.toFixed(0)} | ${s.decodeP95.toFixed(0)} | ${s.meanCosine.toFixed(3)} |`,
          );
        }
      }
      const { wasmMemoryBytes } = (await (await fetch(`${dev.base}/_memory`)).json()) as { wasmMemoryBytes: number };
      console.log(`Worker isolate's WASM core memory with the encoder and decoder loaded: ${(wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB`);
      return { decoder, requests: REQUESTS, firstMs: first, rows, workerWasmMiB: wasmMemoryBytes / 2 ** 20 };
    } finally {
      dev.child.kill();
      node.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
