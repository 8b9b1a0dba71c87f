// decode: true in the Worker as deployed: worker assets built (scripts/build-worker-assets.ts) from a models folder
// holding only a decoder (an INT8 directory, as shipped, of random weights with the real 8,000-piece vocabulary and
// 512 dims), bundled by wrangler with
// those assets in place of worker-assets/ (--alias), run by workerd (Miniflare), the decoder's weights read through
// the ASSETS binding. It answers generated text as the Node app does over the same files; a build without a decoder
// answers 501; a predicted vector with no direction is refused by name; the decoder is never bundled as an LVM.
import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorkerAssets } from "../../scripts/build-worker-assets.ts";
import { createApp } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { encodeInt8Decoder, quantizeDecoderWeights } from "../../src/decoder/model-int8-format.ts";
import { loadVectorDecoder } from "../../src/decoder/vector-decoder-node.ts";
import { createUseLiteCoreEncoder } from "../../src/encoders/use-lite-core.ts";
import { USE_LITE_EDGE_FILE } from "../../src/encoders/use-lite-core-format.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { storeFromBytes } from "../../src/store/concept-store.ts";
import { tinyModel } from "../decoder/fixture.ts";
import { REPO, tempDir } from "../helpers.ts";

const config = { vocab: 8000, dim: 512, embed: 16, hidden: 32, maxTokens: 8 };
const options = { steps: 1, beam: 2, samples: 2, seed: 3 };

interface Built {
  mf: Miniflare;
  model?: string;
  out: string;
}

let cleanup: () => Promise<void>;
let withDecoder: Built;
let without: Built;
let nodeApp: ReturnType<typeof createApp>;
let context: number[][];

/** Worker assets into `dir` (decoder from `modelsRoot`, or none), bundled by wrangler with them, in workerd. */
async function buildWorker(dir: string, modelsRoot: string, decoder: null | undefined): Promise<Built> {
  const out = join(dir, "worker-assets");
  const publicDir = join(dir, "public");
  // model "decoder" asks for the decoder's directory as the LVM: it must not be taken as one.
  const { model } = await buildWorkerAssets({ out, publicDir, modelsRoot, decoder, model: "decoder" });
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  const bundle = spawnSync(
    process.execPath,
    [
      join(REPO, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      join(dir, "bundle"),
      "--alias",
      `../../worker-assets/index.ts:${join(out, "index.ts")}`,
    ],
    { cwd: REPO, env, encoding: "utf8" },
  );
  expect(bundle.status, bundle.stderr).toBe(0);
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, "bundle", "worker.js"),
    modulesRoot: join(dir, "bundle"),
    modulesRules: [
      { type: "Data", include: ["**/*.bin"] },
      { type: "Text", include: ["**/*.jsonl"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-11-01",
    // Static assets: this build's public/ (the decoder's weights), then the repository's (the encoder's weights).
    serviceBindings: {
      ASSETS: async (request: Request) => {
        const path = new URL(request.url).pathname;
        for (const root of [publicDir, join(REPO, "public")]) {
          const bytes = await readFile(join(root, path)).catch(() => undefined);
          if (bytes) return new Response(new Uint8Array(bytes));
        }
        return new Response("not found", { status: 404 });
      },
    },
  });
  return { mf, model, out };
}

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  const modelsRoot = join(dir.path, "models");
  const decoderDir = join(modelsRoot, "decoder");
  const int8 = quantizeDecoderWeights(tinyModel(11, config));
  const { manifest, bytes } = encodeInt8Decoder(config, int8, { id: "use-lite", dim: 512 }, { note: "random weights (test)" });
  await mkdir(decoderDir, { recursive: true });
  await writeFile(join(decoderDir, "weights.bin"), bytes);
  await writeFile(join(decoderDir, "model.json"), JSON.stringify(manifest));
  await mkdir(join(dir.path, "a"));
  await mkdir(join(dir.path, "b"));
  withDecoder = await buildWorker(join(dir.path, "a"), modelsRoot, undefined);
  without = await buildWorker(join(dir.path, "b"), modelsRoot, null);

  // The Node app over the same bundle bytes, the same core encoder weights and the same decoder directory.
  const assets = withDecoder.out;
  const buffer = async (name: string) => {
    const b = await readFile(join(assets, name));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  };
  const store = storeFromBytes({
    manifest: await readFile(join(assets, "store.json"), "utf8"),
    documents: await readFile(join(assets, "documents.jsonl"), "utf8"),
    texts: await buffer("texts.bin"),
    rows: await buffer("rows.bin"),
    int8: await buffer("vectors-i8.bin"),
    scales: await buffer("scales.bin"),
  });
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  const core = await loadCore();
  const useLite = new Uint8Array(await readFile(join(REPO, "public", USE_LITE_EDGE_FILE)));
  const encoder = createUseLiteCoreEncoder(core, useLite, { maxBatchTokens: 512 });
  // Node's own loader (the server's), on the same encoder weights the Worker reads.
  const { decoder } = await loadVectorDecoder(decoderDir, { encoder });
  nodeApp = createApp({
    store,
    exactIndex: Object.assign(new CoreIndex(core, store), { kind: "exact-core" }),
    models,
    encoder: async () => encoder,
    decoder: async () => decoder,
    runtime: "node",
  });
  context = [20, 21, 22, 23, 24].map((r) => Array.from(store.vector(r)));
}, 300_000);

afterAll(async () => {
  await withDecoder?.mf.dispose();
  await without?.mf.dispose();
  await cleanup?.();
});

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

interface Generated {
  generated: boolean;
  text: string;
  cosine: number;
  steps: number;
}

describe("the Worker's decoder (wrangler bundle in workerd)", () => {
  it("never bundles the decoder's directory as an LVM, and says whether it has a decoder at /healthz", async () => {
    expect(withDecoder.model).toBeUndefined();
    expect(without.model).toBeUndefined();
    const health = async (b: Built) => (await (await b.mf.dispatchFetch("http://localhost/healthz")).json()) as { decoder: boolean };
    expect((await health(withDecoder)).decoder).toBe(true);
    expect((await health(without)).decoder).toBe(false);
  });

  it("/v1/next with decode: true answers generated text, marked as generated, as the Node app does", async () => {
    const body = { context, k: 3, model: "copy-last", decode: true, decodeOptions: options };
    const res = await withDecoder.mf.dispatchFetch("http://localhost/v1/next", json(body));
    expect(res.status).toBe(200);
    const worker = (await res.json()) as { results: { row: number }[]; generated: Generated; timings: { decodeMs: number } };
    expect(worker.results).toHaveLength(3);
    expect(Object.keys(worker.generated).sort()).toEqual(["cosine", "generated", "steps", "text"]);
    expect(worker.generated.generated).toBe(true);
    expect(worker.generated.text.length).toBeGreaterThan(0);
    expect(worker.timings.decodeMs).toBeGreaterThan(0);
    const node = (await (await nodeApp.request("/v1/next", json(body))).json()) as typeof worker;
    expect(worker.generated.text).toBe(node.generated.text);
    expect(worker.generated.cosine).toBeCloseTo(node.generated.cosine, 6);
    expect(worker.generated.steps).toBe(node.generated.steps);
  });

  it("/v1/generate with decode: true gives every step its generated text, as the Node app does", async () => {
    const body = { context, steps: 2, model: "copy-last", stopCosine: 1, decode: true, decodeOptions: options };
    const res = await withDecoder.mf.dispatchFetch("http://localhost/v1/generate", json(body));
    expect(res.status).toBe(200);
    const worker = (await res.json()) as { steps: { row: number; generated: Generated }[] };
    const node = (await (await nodeApp.request("/v1/generate", json(body))).json()) as typeof worker;
    expect(worker.steps).toHaveLength(2);
    for (const [i, step] of worker.steps.entries()) {
      expect(step.generated.generated).toBe(true);
      expect(step.generated.text).toBe(node.steps[i].generated.text);
    }
  });

  it("a predicted vector with no direction is refused by name (400), not a 500", async () => {
    // mean-context over five unit vectors that sum to exactly zero (every value exact in float32) predicts zeros.
    const unit = (values: Record<number, number>) => Array.from({ length: 512 }, (_, i) => values[i] ?? 0);
    const cancelling = [
      unit({ 0: 1 }),
      unit({ 0: -0.5, 1: -0.5, 2: -0.5, 3: -0.5 }),
      unit({ 0: -0.5, 1: 0.5, 2: 0.5, 3: 0.5 }),
      unit({ 4: 1 }),
      unit({ 4: -1 }),
    ];
    for (const path of ["/v1/next", "/v1/generate"]) {
      const res = await withDecoder.mf.dispatchFetch(
        `http://localhost${path}`,
        json({ context: cancelling, model: "mean-context", decode: true, decodeOptions: options }),
      );
      expect(res.status, path).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; field: string; message: string } };
      expect(error).toMatchObject({ code: "undecodable_vector", field: "decode" });
      expect(error.message).toContain("vectors[0] is all zeros");
    }
  });

  it("without a decoder: 501 naming the field, on both routes; decode: false still answers", async () => {
    for (const path of ["/v1/next", "/v1/generate"]) {
      const res = await without.mf.dispatchFetch(`http://localhost${path}`, json({ context, model: "copy-last", decode: true }));
      expect(res.status, path).toBe(501);
      const { error } = (await res.json()) as { error: { code: string; field: string; message: string } };
      expect(error).toMatchObject({ code: "decoder_unavailable", field: "decode" });
      expect(error.message).toContain("has none");
    }
    const plain = await without.mf.dispatchFetch("http://localhost/v1/next", json({ context, model: "copy-last" }));
    expect(plain.status).toBe(200);
  });
});
