import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { loadVectorDecoder } from "../../src/decoder/vector-decoder-node.ts";
import { createUseLiteCoreEncoder } from "../../src/encoders/use-lite-core.ts";
import { USE_LITE_EDGE_FILE } from "../../src/encoders/use-lite-core-format.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { CURRENT_KEY, type ShardManifest } from "../../src/shard/format.ts";
import { directoryTarget, type ObjectTarget, publishStore } from "../../src/shard/publish-node.ts";
import { bucketTarget, type R2BucketLike } from "../../src/shard/r2.ts";
import { type ConceptStore, storeFromBytes } from "../../src/store/concept-store.ts";
import { FILES } from "../../src/store/format.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, REPO, tempDir } from "../helpers.ts";

// The sharded Worker as deployed: bundled by wrangler from wrangler-sharded.toml, run by workerd (Miniflare) with a local
// R2 bucket and Durable Objects, over the mini tier published in 2 and 4 shards; compared with the same store served
// whole by the Node app (createApp over the store's INT8 rows, exact core index).
let dir: { path: string; [Symbol.asyncDispose](): Promise<void> };
let bundle: string;
let whole: ConceptStore;
let source: ConceptStore;
let nodeApp: ReturnType<typeof createApp>;
let nodeExact: CoreIndex & { kind: string };
const instances: Miniflare[] = [];

async function worker(shards: number, options: { hnsw?: false; tamper?: (bucket: R2BucketLike, m: ShardManifest) => Promise<void> } = {}) {
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(bundle, "worker-sharded.js"),
    modulesRoot: bundle,
    modulesRules: [
      { type: "Data", include: ["**/*.bin"] },
      { type: "Text", include: ["**/*.jsonl"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-11-01",
    compatibilityFlags: ["nodejs_als"],
    r2Buckets: ["SHARDS"],
    durableObjects: { SHARD: "ShardObject" },
    bindings: { LVM_SHARD_TIMEOUT_MS: "20000" },
    // The static assets as built (npm run build): the shipped decoder's weights and USE-lite's edge weights.
    serviceBindings: {
      ASSETS: async (request: Request) => {
        const bytes = await readFile(join(REPO, "public", new URL(request.url).pathname)).catch(() => undefined);
        return bytes ? new Response(new Uint8Array(bytes)) : new Response("not found", { status: 404 });
      },
    },
  });
  instances.push(mf);
  const bucket = (await mf.getR2Bucket("SHARDS")) as unknown as R2BucketLike;
  const { manifest } = await publishStore(source, bucketTarget(bucket, "local R2"), {
    shards,
    hnsw: options.hnsw ?? { M: 16, efConstruction: 100 },
    release: `test-${shards}`,
  });
  await options.tamper?.(bucket, manifest);
  return { mf, manifest, bucket };
}

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** 24 queries: stored rows with seeded noise (unit length). */
function queries(): number[][] {
  let seed = 11;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  return Array.from({ length: 24 }, (_, i) => {
    const v = Array.from(whole.vector((i * 263) % whole.count), (x) => x + 0.02 * rand());
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
}

beforeAll(async () => {
  dir = await tempDir();
  const storeDir = await buildMiniStore(join(dir.path, "store"));
  source = await readStore(storeDir);
  const bytes = async (name: string) => {
    const b = await readFile(join(storeDir, name));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  };
  // The whole store as the edge holds it: INT8 rows (float vectors rebuilt from them), on the same core .wasm.
  whole = storeFromBytes({
    manifest: await readFile(join(storeDir, FILES.manifest), "utf8"),
    documents: await readFile(join(storeDir, FILES.documents), "utf8"),
    texts: await bytes(FILES.texts),
    rows: await bytes(FILES.rows),
    int8: await bytes(FILES.int8),
    scales: await bytes(FILES.scales),
  });
  const models = new ModelRegistry();
  for (const b of baselineModels(whole.dim, whole.encoder.id)) models.add(b);
  nodeExact = Object.assign(new CoreIndex(await loadCore(), whole), { kind: "exact-core" });
  nodeApp = createApp({ store: whole, exactIndex: nodeExact, models, runtime: "node" });

  bundle = join(dir.path, "bundle");
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  const build = spawnSync(
    process.execPath,
    [join(REPO, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "-c", "wrangler-sharded.toml", "--outdir", bundle],
    { cwd: REPO, env, encoding: "utf8" },
  );
  expect(build.status, build.stderr).toBe(0);
});

afterAll(async () => {
  for (const mf of instances) await mf.dispose();
  await dir?.[Symbol.asyncDispose]();
});

type Hit = { row: number; score: number; text: string; documentId: string; title: string; position: number };

for (const shards of [2, 4]) {
  describe(`sharded Worker, ${shards} shards (wrangler bundle in workerd, local R2 and Durable Objects)`, () => {
    let mf: Miniflare;
    beforeAll(async () => {
      ({ mf } = await worker(shards));
    });

    it("exact search returns the rows and scores of the whole store served on Node, with every shard answering", async () => {
      for (const vector of queries()) {
        const res = await mf.dispatchFetch("http://localhost/v1/search", json({ vector, k: 10, exact: true }));
        expect(res.status, await res.clone().text()).toBe(200);
        expect(res.headers.get("x-lvm-shards-answered")).toBe(Array.from({ length: shards }, (_, i) => i).join(","));
        expect(res.headers.get("x-lvm-partial")).toBeNull();
        const sharded = (await res.json()) as { index: string; results: Hit[] };
        const node = (await (await nodeApp.request("/v1/search", json({ vector, k: 10 }))).json()) as { results: Hit[] };
        expect(sharded.index).toBe(`exact-sharded-${shards}`);
        // Same rows, scores, texts and provenance.
        expect(sharded.results).toEqual(node.results);
      }
    });

    it("/v1/next (vector and {row} context) predicts the same concepts as the whole store", async () => {
      const context = [[...whole.vector(100)], { row: 101 }, [...whole.vector(102)], { row: 103 }, [...whole.vector(104)]];
      const body = { context, k: 8, model: "copy-last", exact: true };
      const res = await mf.dispatchFetch("http://localhost/v1/next", json(body));
      expect(res.status).toBe(200);
      const sharded = (await res.json()) as { results: Hit[] };
      const node = (await (await nodeApp.request("/v1/next", json(body))).json()) as { results: Hit[] };
      expect(sharded.results).toEqual(node.results);
      // The context's stored rows (100..104) are never predicted.
      expect(sharded.results.map((r) => r.row).filter((r) => r >= 100 && r <= 104)).toEqual([]);
    });

    it("HNSW search (each shard's own graph) keeps recall@10 >= 0.95 against the whole store's exact top-10", async () => {
      let found = 0;
      let total = 0;
      for (const vector of queries()) {
        const res = await mf.dispatchFetch("http://localhost/v1/search", json({ vector, k: 10 }));
        const sharded = (await res.json()) as { index: string; results: Hit[] };
        expect(sharded.index).toBe(`hnsw-sharded-${shards}`);
        const truth = new Set(nodeExact.search(Float32Array.from(vector), 10).rows);
        found += sharded.results.filter((r) => truth.has(r.row)).length;
        total += 10;
      }
      expect(found / total).toBeGreaterThanOrEqual(0.95);
    });

    it("serves /v1/concepts/{row}, /v1/documents and /healthz like the whole store", async () => {
      for (const path of ["/v1/concepts/0", `/v1/concepts/${whole.count - 1}`, "/v1/documents/3", "/v1/documents"]) {
        const sharded = await (await mf.dispatchFetch(`http://localhost${path}`)).json();
        const node = await (await nodeApp.request(path)).json();
        expect(sharded, path).toEqual(node);
      }
      const missing = await mf.dispatchFetch(`http://localhost/v1/concepts/${whole.count}`);
      expect(missing.status).toBe(404);
      const health = (await (await mf.dispatchFetch("http://localhost/healthz")).json()) as { store: { concepts: number } };
      expect(health.store.concepts).toBe(whole.count);
    });

    it.runIf(shards === 2)(
      "decode: true says the prediction as text, as the Node app does with the same decoder and encoder files",
      async () => {
        // The bundle's decoder is the one npm run build staged from models/decoder/ (its weights in public/decoder/).
        const core = await loadCore();
        const edge = new Uint8Array(await readFile(join(REPO, "public", USE_LITE_EDGE_FILE)));
        const encoder = createUseLiteCoreEncoder(core, edge, { maxBatchTokens: 512 });
        const { decoder } = await loadVectorDecoder(join(REPO, "models/decoder"), { encoder });
        const models = new ModelRegistry();
        for (const b of baselineModels(whole.dim, whole.encoder.id)) models.add(b);
        const nodeDecoding = createApp({ store: whole, exactIndex: nodeExact, models, runtime: "node", decoder: async () => decoder });
        const context = [0, 1, 2, 3, 4].map((i) => ({ row: 300 + i }));
        const body = {
          context,
          k: 3,
          model: "copy-last",
          exact: true,
          decode: true,
          decodeOptions: { steps: 1, beam: 2, samples: 2, seed: 3 },
        };
        const res = await mf.dispatchFetch("http://localhost/v1/next", json(body));
        expect(res.status, await res.clone().text()).toBe(200);
        type Decoded = { results: Hit[]; generated: { text: string; cosine: number; steps: number; generated: boolean } };
        const sharded = (await res.json()) as Decoded;
        const node = (await (await nodeDecoding.request("/v1/next", json(body))).json()) as Decoded;
        expect(sharded.generated.generated).toBe(true);
        expect(sharded.generated.text.length).toBeGreaterThan(0);
        expect(sharded.generated).toEqual(node.generated);
        expect(sharded.results).toEqual(node.results);
      },
    );
  });
}

describe("sharded Worker faults", () => {
  it("a shard whose object does not match its checksum is not served: the answer is partial and says which shards answered", async () => {
    const { mf, manifest } = await worker(4, {
      hnsw: false,
      tamper: async (bucket, m) => {
        const entry = m.shards[2];
        const bytes = new Uint8Array(await ((await bucket.get(entry.key)) as { arrayBuffer(): Promise<ArrayBuffer> }).arrayBuffer());
        bytes[bytes.length - 7] ^= 0x55; // same size, different bytes
        await bucket.put(entry.key, bytes);
      },
    });
    const broken = manifest.shards[2];
    const vector = queries()[0];
    const res = await mf.dispatchFetch("http://localhost/v1/search", json({ vector, k: 10, exact: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-lvm-partial")).toBe("true");
    expect(res.headers.get("x-lvm-shards")).toBe("4");
    expect(res.headers.get("x-lvm-shards-answered")).toBe("0,1,3");
    expect(res.headers.get("x-lvm-shards-failed")).toMatch(new RegExp(`^2: .*${broken.key}.*does not match its checksum`));
    // The answer is the whole store's top-10 among the rows of the shards that answered.
    const skip = new Set(Array.from({ length: broken.count }, (_, i) => broken.first + i));
    const want = nodeExact.search(Float32Array.from(vector), 10, skip);
    const got = (await res.json()) as { results: Hit[] };
    expect(got.results.map((r) => r.row)).toEqual([...want.rows]);
  });

  it("a release whose shard object is missing is refused at load, naming the object", async () => {
    const { mf, manifest } = await worker(4, {
      hnsw: false,
      tamper: async (bucket, m) => {
        await bucket.delete?.(m.shards[1].key);
      },
    });
    const res = await mf.dispatchFetch("http://localhost/v1/search", json({ vector: queries()[0], k: 5 }));
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("release_unavailable");
    expect(body.error.message).toContain(`shard 1 object '${manifest.shards[1].key}' is missing from R2`);
  });

  it("publish refuses to switch current.json to a manifest that points at a missing object", async () => {
    await using out = await tempDir();
    const target = directoryTarget(out.path);
    const dropping: ObjectTarget = {
      ...target,
      put: async (key, bytes) => (key.endsWith("shard-001.bin") ? undefined : target.put(key, bytes)),
    };
    await expect(publishStore(source, dropping, { shards: 3, hnsw: false, release: "r1" })).rejects.toThrow(
      /manifest of release 'r1' names shard 1 at 'releases\/r1\/shard-001\.bin', which is missing/,
    );
    expect(await target.head(CURRENT_KEY)).toBeNull();
    // A good release, then a failed one: current.json still names the good one.
    await publishStore(source, target, { shards: 2, hnsw: false, release: "r2" });
    await expect(publishStore(source, dropping, { shards: 3, hnsw: false, release: "r3" })).rejects.toThrow(/missing/);
    expect(JSON.parse(new TextDecoder().decode((await target.get(CURRENT_KEY)) ?? new Uint8Array())).release).toBe("r2");
  });
});
