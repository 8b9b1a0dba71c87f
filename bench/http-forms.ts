// Loopback load test of the Node server (`npm start` on the embedded default) at concurrency 16: /v1/next with
// the same five demo concepts in each vector form, one run: JSON numbers, base64 float32 ({b64}) and stored
// rows ({row}), each for LVM_BENCH_HTTP_SECONDS (default 10) in two alternating rounds, so drift from other
// processes on the shared cores hits all three alike. Checks first that the three forms give the same results.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeVectorB64 } from "../src/predict/vector-b64.ts";
import { type Load, loadTest, REPO, startNodeServer } from "./servers.ts";

const ROWS = [100, 101, 102, 103, 104];

export async function benchHttpForms(seconds = Number(process.env.LVM_BENCH_HTTP_SECONDS ?? 10)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "lvm-bench-forms-"));
  const server = await startNodeServer(dir).catch((error) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  try {
    const url = `${server.base}/v1/next`;
    const vectors = new Float32Array(new Uint8Array(readFileSync(join(REPO, "demo/vectors.use-lite-512.f32"))).buffer);
    const vector = (r: number) => vectors.subarray(r * 512, (r + 1) * 512);
    const forms = {
      "JSON numbers": ROWS.map((r) => Array.from(vector(r))),
      "base64 float32 {b64}": ROWS.map((r) => encodeVectorB64(vector(r))),
      "stored rows {row}": ROWS.map((row) => ({ row })),
    };
    const bodies = Object.fromEntries(Object.entries(forms).map(([name, context]) => [name, JSON.stringify({ context, k: 10 })]));
    // Same answer from each form (and a warm-up).
    const answers = await Promise.all(
      Object.values(bodies).map(async (body) => {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
        if (!res.ok) throw new Error(`POST /v1/next: HTTP ${res.status} ${await res.text()}`);
        const { model, results } = (await res.json()) as { model: string; results: { row: number; score: number }[] };
        return { model, results: JSON.stringify(results) };
      }),
    );
    const identical = answers.every((a) => a.results === answers[0].results);
    if (!identical) console.warn("http-forms: the three forms gave different results");
    const runs: Record<string, Load[]> = Object.fromEntries(Object.keys(bodies).map((n) => [n, []]));
    for (let round = 0; round < 2; round++)
      for (const [name, body] of Object.entries(bodies)) runs[name].push(await loadTest(url, body, Math.max(1, seconds / 2)));
    const merged = Object.fromEntries(
      Object.entries(runs).map(([name, [a, b]]) => [
        name,
        {
          bytes: bodies[name].length,
          requests: a.requests + b.requests,
          rps: (a.rps + b.rps) / 2,
          p50: Math.max(a.p50, b.p50),
          p99: Math.max(a.p99, b.p99),
          errors: a.errors + b.errors + a.non2xx + b.non2xx,
        },
      ]),
    );
    console.log(
      `\n## HTTP /v1/next by vector form, loopback, concurrency 16, 2 x ${Math.max(1, seconds / 2)} s each, model '${answers[0].model}' (Node server in its own process)`,
    );
    console.log("| context form | body bytes | req/s | p50 ms | p99 ms | errors + non-2xx |\n|---|---|---|---|---|---|");
    for (const [name, r] of Object.entries(merged))
      console.log(`| ${name} | ${r.bytes} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
    console.log(`same top-10 from all three forms: ${identical ? "yes" : "NO"}`);
    return {
      model: answers[0].model,
      seconds,
      how: "two alternating rounds of seconds/2 per form; req/s the mean of the rounds, p50/p99 the worse round",
      identical,
      forms: merged,
    };
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchHttpForms();
