// decode: true on /v1/next and /v1/generate: text from the tiny random-weight decoder of test/decoder/fixture.ts
// (at the store's 512 dims), re-embedded by a stand-in encoder so that the reported cosine can be recomputed here;
// decode: false is unchanged; no decoder, a decoder that failed to load, a bad option and an undecodable vector
// each give a JSON error naming what is wrong; the OpenAPI document shows the new fields.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppDeps, createApp } from "../../src/api/app.ts";
import { ReferenceDecoder } from "../../src/decoder/reference.ts";
import { createVectorDecoder, type VectorDecoder } from "../../src/decoder/vector-decoder.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { fnv1a } from "../../src/math/fnv1a.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { tinyConfig, tinyModel, tinyPieces, unitVector } from "../decoder/fixture.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

let store: ConceptStore;
let models: ModelRegistry;
let cleanup: () => Promise<void>;
let decodeCalls = 0;

/** A stand-in encoder with the store's id and dim: each distinct text gets its own seeded random unit vector. */
function hashEncoder(id: string, dim: number): Encoder {
  return {
    id,
    dim,
    embed: async (texts) => {
      const out = new Float32Array(texts.length * dim);
      for (const [i, t] of texts.entries()) out.set(unitVector(dim, fnv1a(new TextEncoder().encode(t))), i * dim);
      return out;
    },
  } as Encoder;
}

let encoder: Encoder;
let decoder: VectorDecoder;

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(dir.path, "store")));
  models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  // A model whose prediction has no direction: the decoder refuses it.
  models.add({ ...models.get("copy-last")!, name: "zeros", forward: (_c, b) => new Float32Array(b * store.dim) });
  encoder = hashEncoder(store.encoder.id, store.dim);
  const tiny = createVectorDecoder(new ReferenceDecoder(tinyModel(7, { ...tinyConfig, dim: store.dim })), encoder, tinyPieces);
  decoder = {
    dim: tiny.dim,
    encoderId: tiny.encoderId,
    decode: (vectors, count, options) => {
      decodeCalls++;
      return tiny.decode(vectors, count, options);
    },
  };
});
afterAll(() => cleanup?.());

const appWith = (extra: Partial<AppDeps> = {}) =>
  createApp({ store, exactIndex: referenceIndex(store.vectors, store.dim), models, runtime: "node", ...extra });

const post = (app: ReturnType<typeof createApp>, path: string, body: unknown) =>
  app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

const context = [{ row: 3 }, { row: 4 }, { row: 5 }];

/** The stand-in encoder's cosine of `text` to `vector` (the encoder writes unit vectors). */
async function cosineTo(text: string, vector: ArrayLike<number>): Promise<number> {
  const e = await encoder.embed([text]);
  let dot = 0;
  let norm = 0;
  for (let i = 0; i < store.dim; i++) {
    dot += e[i] * vector[i];
    norm += vector[i] * vector[i];
  }
  return dot / Math.sqrt(norm);
}

describe("decode: true", () => {
  it("/v1/next adds generated text for the predicted vector, marked as generated, with its re-embedding cosine", async () => {
    const app = appWith({ decoder: async () => decoder });
    const res = await post(app, "/v1/next", { context, k: 3, model: "copy-last", decode: true, includeVector: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.results).toHaveLength(3);
    expect(Object.keys(body.generated).sort()).toEqual(["cosine", "generated", "steps", "text"]);
    expect(body.generated.generated).toBe(true);
    expect(body.generated.text.length).toBeGreaterThan(0);
    expect(body.generated.text).toMatch(/^w\d+( w\d+)*$/); // the tiny vocabulary's words, detokenized
    expect(body.generated.cosine).toBeCloseTo(await cosineTo(body.generated.text, body.vector), 5);
    expect(body.generated.steps).toBeGreaterThanOrEqual(0);
    expect(body.timings.decodeMs).toBeGreaterThanOrEqual(0);
    // copy-last predicts the last context row: the text is the decoder's answer for that stored vector.
    const [direct] = await decoder.decode(store.vector(5), 1);
    expect(body.generated.text).toBe(direct.text);
  });

  it("decodeOptions reach the decoder: steps 0 runs no refinement step; patience and feedback give the decoder's answer", async () => {
    const app = appWith({ decoder: async () => decoder });
    const body = await (
      await post(app, "/v1/next", { context, model: "copy-last", decode: true, decodeOptions: { steps: 0, beam: 2, samples: 0 } })
    ).json();
    expect(body.generated.steps).toBe(0);
    const [direct] = await decoder.decode(store.vector(5), 1, { steps: 0, beam: 2, samples: 0 });
    expect(body.generated.text).toBe(direct.text);
    // A stored row whose refinement stops early without patience, so a dropped patience would show: patience 2
    // runs all 3 steps (a stop needs 3 misses in a row).
    const options = { steps: 3, beam: 2, samples: 2, patience: 2, feedback: 0.5 };
    let row = 5;
    while (row < 50 && (await decoder.decode(store.vector(row), 1, { ...options, patience: 0 }))[0].steps === 3) row++;
    expect(row).toBeLessThan(50);
    const last = [{ row: row - 2 }, { row: row - 1 }, { row }];
    const refined = await (await post(app, "/v1/next", { context: last, model: "copy-last", decode: true, decodeOptions: options })).json();
    const [same] = await decoder.decode(store.vector(row), 1, options);
    expect({ text: refined.generated.text, steps: refined.generated.steps }).toEqual({ text: same.text, steps: 3 });
  });

  it("/v1/generate adds generated text to every step, for that step's predicted vector", async () => {
    const app = appWith({ decoder: async () => decoder });
    const res = await post(app, "/v1/generate", { context, steps: 3, model: "copy-last", stopCosine: 1, decode: true });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.steps).toHaveLength(3);
    // copy-last: step 0 predicts the last context row, each later step the row the previous step retrieved.
    const predictedRows = [5, body.steps[0].row, body.steps[1].row];
    for (const [i, step] of body.steps.entries()) {
      expect(step.generated.generated).toBe(true);
      expect(step.generated.cosine).toBeCloseTo(await cosineTo(step.generated.text, store.vector(predictedRows[i])), 5);
      const [direct] = await decoder.decode(store.vector(predictedRows[i]), 1);
      expect(step.generated.text).toBe(direct.text);
    }
    expect(body.timings.decodeMs).toBeGreaterThanOrEqual(0);
  });

  it("decode: false (the default) is unchanged: same results, no generated text, the decoder is not called", async () => {
    const withDecoder = appWith({ decoder: async () => decoder });
    const without = appWith();
    const before = decodeCalls;
    for (const path of ["/v1/next", "/v1/generate"]) {
      const request = { context, model: "copy-last", stopCosine: 1 };
      const a = await (await post(withDecoder, path, { ...request, decode: false })).json();
      const b = await (await post(without, path, request)).json();
      expect(JSON.stringify(a)).not.toContain("generated");
      expect(a.timings.decodeMs).toBeUndefined();
      expect(a.results ?? a.steps).toEqual(b.results ?? b.steps);
    }
    expect(decodeCalls).toBe(before);
    // And decode: true retrieves the same concepts as decode: false.
    const on = await (await post(withDecoder, "/v1/next", { context, model: "copy-last", decode: true })).json();
    const off = await (await post(withDecoder, "/v1/next", { context, model: "copy-last" })).json();
    expect(on.results).toEqual(off.results);
  });
});

describe("decode errors", () => {
  it("no decoder configured: 501 naming LVM_DECODER, on both routes", async () => {
    const app = appWith();
    for (const path of ["/v1/next", "/v1/generate"]) {
      const res = await post(app, path, { context, model: "copy-last", decode: true });
      expect(res.status).toBe(501);
      const { error } = await res.json();
      expect(error).toMatchObject({ code: "decoder_unavailable", field: "decode" });
      expect(error.message).toContain("LVM_DECODER=<decoder dir>");
    }
  });

  it("a decoder that failed to load: 503 with the loader's reason", async () => {
    const app = appWith({ decoder: () => Promise.reject(new Error("model.json: missing")) });
    const res = await post(app, "/v1/next", { context, decode: true });
    expect(res.status).toBe(503);
    expect((await res.json()).error.message).toContain("model.json: missing");
  });

  it("a decoder of another dim or encoder: 501 saying which", async () => {
    const other = createVectorDecoder(new ReferenceDecoder(tinyModel()), hashEncoder("use-lite", tinyConfig.dim), tinyPieces);
    const res = await post(appWith({ decoder: async () => other }), "/v1/next", { context, decode: true });
    expect(res.status).toBe(501);
    const { error } = await res.json();
    expect(error.code).toBe("decoder_store_mismatch");
    expect(error.message).toContain(`the decoder reads ${tinyConfig.dim}-D vectors`);
  });

  it("a bad decode option: 400 naming the field", async () => {
    const app = appWith({ decoder: async () => decoder });
    const cases: [unknown, string][] = [
      [{ decode: "yes" }, "decode"],
      [{ decode: true, decodeOptions: { steps: 9 } }, "decodeOptions.steps"],
      [{ decode: true, decodeOptions: { beam: 0 } }, "decodeOptions.beam"],
      [{ decode: true, decodeOptions: { temperature: 0 } }, "decodeOptions.temperature"],
      [{ decode: true, decodeOptions: { patience: -1 } }, "decodeOptions.patience"],
      [{ decode: true, decodeOptions: { stepz: 1 } }, "decodeOptions"],
    ];
    for (const path of ["/v1/next", "/v1/generate"]) {
      for (const [extra, field] of cases) {
        const res = await post(app, path, { context, ...(extra as object) });
        expect(res.status, `${path} ${JSON.stringify(extra)}`).toBe(400);
        expect((await res.json()).error).toMatchObject({ code: "invalid_request", field });
      }
    }
  });

  it("a predicted vector the decoder refuses (all zeros): 400 saying why, not a 500", async () => {
    const app = appWith({ decoder: async () => decoder });
    for (const path of ["/v1/next", "/v1/generate"]) {
      const res = await post(app, path, { context, model: "zeros", decode: true });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe("undecodable_vector");
      expect(error.message).toMatch(/all zeros/);
    }
  });
});

describe("GET /healthz", () => {
  it("says whether a decoder is configured (the page enables its 'say it' box on it)", async () => {
    expect((await (await appWith({ decoder: async () => decoder }).request("/healthz")).json()).decoder).toBe(true);
    expect((await (await appWith().request("/healthz")).json()).decoder).toBe(false);
  });
});

describe("the OpenAPI document", () => {
  it("shows decode, decodeOptions and the generated text on both routes", async () => {
    const doc = await (await appWith().request("/openapi.json")).json();
    const schemas = doc.components.schemas;
    for (const name of ["NextRequest", "GenerateRequest"]) {
      expect(schemas[name].properties.decode).toMatchObject({ type: "boolean", default: false });
      expect(schemas[name].properties.decodeOptions).toEqual({ $ref: "#/components/schemas/DecodeOptions" });
    }
    expect(Object.keys(schemas.DecodeOptions.properties).sort()).toEqual([
      "beam",
      "feedback",
      "patience",
      "samples",
      "seed",
      "steps",
      "temperature",
    ]);
    expect(schemas.NextResponse.properties.generated).toEqual({ $ref: "#/components/schemas/GeneratedText" });
    const stepProperties = schemas.ChainStep.allOf.find((s: { properties?: object }) => s.properties).properties;
    expect(stepProperties.generated).toEqual({ $ref: "#/components/schemas/GeneratedText" });
    expect(schemas.GeneratedText.required.sort()).toEqual(["cosine", "generated", "steps", "text"]);
    expect(Object.keys(doc.paths["/v1/next"].post.responses)).toEqual(expect.arrayContaining(["501", "503"]));
  });
});
