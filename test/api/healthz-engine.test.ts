// /healthz's `engine`: which engine serves each model and why, micro-batching and its counters, and fallback
// warnings, from the registry the Node loader fills; null where no loader set it (the Worker); in the OpenAPI document.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { loadUseLiteEncoder } from "../../src/encoders/use-lite-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { loadModels, SHIPPED_MODELS_DIR } from "../../src/lvm/load-models-node.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

let store: ConceptStore;
let encoder: Promise<Encoder>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const d = await tempDir();
  cleanup = d[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(d.path, "store")));
  encoder = loadUseLiteEncoder();
});
afterAll(async () => {
  (await encoder)?.dispose?.();
  await cleanup();
});

async function appWith(models: ModelRegistry) {
  const core = await loadCore();
  return createApp({
    store,
    exactIndex: Object.assign(new CoreIndex(core, store), { kind: "exact-core" }),
    encoder: () => encoder,
    models,
    runtime: "node",
  });
}

describe("/healthz engine", () => {
  it("is null where no loader described the engine", async () => {
    const models = new ModelRegistry();
    const health = await (await (await appWith(models)).request("/healthz")).json();
    expect(health.engine).toBeNull();
  });

  it("names each served model's engine and why, counts micro-batched calls, and lists fallback warnings", async () => {
    const core = await loadCore();
    const models = new ModelRegistry();
    const warnings: string[] = [];
    // CoreML off macOS (a forced GPU backend that cannot be used): the core answers, with one warning.
    const backend = process.platform === "darwin" ? "core" : "ort-node-coreml";
    await loadModels(models, core, [SHIPPED_MODELS_DIR], store.encoder, {
      backend,
      microBatch: { windowMs: 2, maxBatch: 16 },
      warn: (w) => warnings.push(w),
    });
    if (!models.get("gru-edge")) return; // no shipped model in this checkout
    const app = await appWith(models);
    const vector = Array.from(store.vectors.subarray(0, 512));
    const next = () =>
      app.request("/v1/next", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ context: [vector, vector], k: 2, model: "gru-edge" }),
      });
    const answers = await Promise.all([next(), next(), next()]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const health = await (await app.request("/healthz")).json();
    expect(health.engine.requested).toBe(backend);
    expect(health.engine.models).toEqual([
      {
        name: "gru-edge",
        backend: "core-int8",
        reason: backend === "core" ? "forced (backend core)" : "ort-node-coreml: CoreML is macOS only; running on core-int8",
      },
    ]);
    expect(health.engine.microBatching).toMatchObject({ windowMs: 2, maxBatch: 16, calls: 3 });
    expect(health.engine.microBatching.modelCalls).toBeLessThan(3); // the three concurrent calls shared model calls
    expect(health.engine.warnings).toEqual(warnings);
    if (backend !== "core") expect(warnings).toEqual(["ort-node-coreml: CoreML is macOS only; running on core-int8"]);
    models.clear();
  });

  it("auto says what it timed; micro-batching off shows as null", async () => {
    const core = await loadCore();
    const models = new ModelRegistry();
    const logged: string[] = [];
    await loadModels(models, core, [SHIPPED_MODELS_DIR], store.encoder, {
      backend: "auto",
      microBatch: { windowMs: 0, maxBatch: 16 },
      log: (m) => logged.push(m),
    });
    if (!models.get("gru-edge")) return;
    const health = await (await (await appWith(models)).request("/healthz")).json();
    expect(health.engine.microBatching).toBeNull();
    const [entry] = health.engine.models;
    expect(["core-int8", "ort-node-int8-row"]).toContain(entry.backend);
    // Without batching the probe decides at batch 1.
    expect(entry.reason).toMatch(
      /^auto: (core-int8|ort-node-int8-row): [\d.]+x (ort-node-int8-row|core-int8) at batch 1 \(startup probe\); /,
    );
    expect(logged).toEqual([`gru-edge: ${entry.reason}`]);
    models.clear();
  });

  it("is in the OpenAPI document's Health schema", async () => {
    const doc = await (await (await appWith(new ModelRegistry())).request("/openapi.json")).json();
    const health = doc.components.schemas.Health;
    expect(Object.keys(health.properties)).toContain("engine");
    expect(doc.components.schemas.EngineHealth.properties.microBatching).toBeDefined();
  });
});
