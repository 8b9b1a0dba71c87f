import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Encoder } from "../../src/encoders/types.ts";
import { exactSearch } from "../../src/index/exact.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { rowOfText } from "../../src/predict/context.ts";
import type { RequestError } from "../../src/predict/errors.ts";
import { generateChain } from "../../src/predict/generate.ts";
import { nextConcepts } from "../../src/predict/next.ts";
import type { ContextItem, PredictDeps, StageLog } from "../../src/predict/types.ts";
import { decodeVectorB64, encodeVectorB64 } from "../../src/predict/vector-b64.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

// The prediction service the server and the page share: context concepts are excluded by their store row,
// whichever form the request gives them in ({row}, a stored text, or a vector of a stored concept).
let store: ConceptStore;
let deps: PredictDeps;
let cleanup: () => Promise<void>;
/** Texts the fake encoder maps to a chosen row's vector (a stored text maps to its own row). */
const fakeEmbeddings = new Map<string, number>();

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  store = await readStore(await buildMiniStore(join(dir.path, "store")));
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  const encoder: Encoder = {
    id: store.encoder.id,
    dim: store.dim,
    embed: async (texts) => {
      const out = new Float32Array(texts.length * store.dim);
      texts.forEach((t, i) => {
        const row = fakeEmbeddings.get(t) ?? rowOfText(store, t);
        if (row === undefined) throw new Error(`fake encoder: no vector for '${t}'`);
        out.set(store.vector(row), i * store.dim);
      });
      return out;
    },
  };
  deps = { store, exactIndex: referenceIndex(store.vectors, store.dim), models, encoder: async () => encoder };
});
afterAll(() => cleanup?.());

const rowsOf = (results: { row: number }[]) => results.map((r) => r.row);
/** Rows first..first+4 as the three context forms. */
const forms = (first: number): [string, ContextItem[]][] => {
  const rows = [0, 1, 2, 3, 4].map((i) => first + i);
  return [
    ["{row}", rows.map((row) => ({ row }))],
    ["stored text", rows.map((row) => store.text(row))],
    // Not unit length: the service normalises, then finds the stored concept (cosine > 0.9999).
    ["vector", rows.map((row) => Array.from(store.vector(row), (v) => 3 * v))],
    ["{b64}", rows.map((row) => encodeVectorB64(store.vector(row).map((v) => 3 * v)))],
  ];
};

describe("vectors as base64 float32 ({b64})", () => {
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: RequestError) => ({ status: e.status, code: e.code, field: e.field }),
    );

  it("is little-endian float32, standard base64, and round-trips exactly", () => {
    expect(encodeVectorB64([1, 0])).toEqual({ b64: "AACAPwAAAAA=" }); // 1.0f = 00 00 80 3f
    const v = store.vector(7);
    expect(decodeVectorB64(encodeVectorB64(v).b64, store.dim, "f")).toEqual(v);
  });

  it.each([
    ["not base64", "@@@@", "bad_base64"],
    ["3 values", encodeVectorB64([1, 2, 3]).b64, "wrong_dim"],
    ["2,049 bytes", btoa("\0".repeat(2049)), "wrong_dim"],
    ["a NaN", encodeVectorB64(Array.from({ length: 512 }, (_, j) => (j === 9 ? Number.NaN : 1))).b64, "not_finite"],
    ["an Infinity", encodeVectorB64(Array.from({ length: 512 }, (_, j) => (j === 0 ? Number.POSITIVE_INFINITY : 1))).b64, "not_finite"],
  ])("rejects %s with a 400 naming the field", async (_, b64, code) => {
    const context: ContextItem[] = [{ row: 1 }, "a", { b64 }];
    expect(await failure(nextConcepts(deps, { context, k: 1, model: "copy-last" }))).toEqual({ status: 400, code, field: "context.2.b64" });
    expect(await failure(generateChain(deps, { context, steps: 1, stopCosine: 0.9 }))).toMatchObject({ code, field: "context.2.b64" });
  });

  it("gives the same results as JSON numbers and {row} in nextConcepts and generateChain", async () => {
    const rows = [600, 601, 602, 603, 604];
    const contexts: ContextItem[][] = [
      rows.map((row) => Array.from(store.vector(row))),
      rows.map((row) => encodeVectorB64(store.vector(row))),
      rows.map((row) => ({ row })),
    ];
    for (const model of ["mean-context", "copy-last"]) {
      const next = await Promise.all(contexts.map((context) => nextConcepts(deps, { context, k: 10, model })));
      const chains = await Promise.all(contexts.map((context) => generateChain(deps, { context, steps: 4, model, stopCosine: 0.99 })));
      for (const r of next.slice(1)) expect(r.results).toEqual(next[0].results);
      for (const c of chains.slice(1)) expect(c.steps).toEqual(chains[0].steps);
    }
  });
});

describe("nextConcepts", () => {
  it.each([0, 1, 2, 3])("excludes the context rows for each item form (form %i)", async (f) => {
    const first = 1200;
    const [, context] = forms(first)[f];
    for (let i = 0; i < 5; i++) expect(rowOfText(store, store.text(first + i))).toBe(first + i);
    const contextRows = new Set([0, 1, 2, 3, 4].map((i) => first + i));
    const result = await nextConcepts(deps, { context, k: 5, model: "copy-last" });
    // copy-last predicts the last context concept: without the exclusion, its own row would come first.
    expect(rowsOf(result.results)).toEqual(Array.from(exactSearch(store.vectors, store.dim, store.vector(first + 4), 5, contextRows).rows));
    expect(rowsOf(result.results).some((r) => contextRows.has(r))).toBe(false);
  });

  it("mixes forms in one context and excludes every stored row among them", async () => {
    const context: ContextItem[] = [{ row: 10 }, store.text(11), Array.from(store.vector(12)), { row: 13 }, store.text(14)];
    const result = await nextConcepts(deps, { context, k: 20, model: "mean-context" });
    expect(rowsOf(result.results).filter((r) => r >= 10 && r <= 14)).toEqual([]);
  });

  it("does not exclude what is not a stored concept: a new text, a vector below cosine 0.9999", async () => {
    fakeEmbeddings.set("a sentence that is not in the store", 300);
    const near = Array.from(store.vector(301));
    near[0] += 0.05; // cosine about 0.999 to row 301
    const byText = await nextConcepts(deps, { context: ["a sentence that is not in the store"], k: 1, model: "copy-last" });
    expect(byText.results[0].row).toBe(300);
    const byVector = await nextConcepts(deps, { context: [near], k: 1, model: "copy-last" });
    expect(byVector.results[0].row).toBe(301);
  });

  it("fills the stage log as it runs", async () => {
    const log: StageLog = {};
    // A new text (a stored one would take its stored vector and embed nothing).
    fakeEmbeddings.set("a new sentence for the stage log", 7);
    const result = await nextConcepts(deps, { context: ["a new sentence for the stage log"], k: 2, model: "copy-last" }, log);
    expect(log).toMatchObject({ model: "copy-last", k: 2, backend: "baseline" });
    expect(log.embedMs).toBeGreaterThanOrEqual(0);
    expect(log.searchMs).toBeGreaterThan(0);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(log.searchMs ?? 0);
  });
});

describe("generateChain", () => {
  it.each([0, 1, 2])("never returns a context row or a row it already used (form %i)", async (f) => {
    const first = 2000;
    const [, context] = forms(first)[f];
    for (const model of ["copy-last", "mean-context"]) {
      const result = await generateChain(deps, { context, steps: 12, stopCosine: 1, model });
      const rows = rowsOf(result.steps);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows).size).toBe(rows.length);
      for (const r of rows) expect(r < first || r > first + 4).toBe(true);
    }
  });

  it("reports cosineToPrevious and stops when predictions stop moving", async () => {
    const result = await generateChain(deps, { context: [{ row: 50 }], steps: 5, stopCosine: 0.9, model: "mean-context" });
    expect(result.steps[0].cosineToPrevious).toBeNull();
    expect(["steps", "degenerate"]).toContain(result.stopped);
  });
});

describe("the {row} form and its errors", () => {
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: RequestError) => ({ status: e.status, code: e.code, field: e.field }),
    );

  it("names the offending item by its index in the request", async () => {
    const context: ContextItem[] = ["ignored: outside the window", "a", "b", "c", "d", { row: store.count }];
    expect(await failure(nextConcepts(deps, { context, k: 1, model: "copy-last" }))).toEqual({
      status: 404,
      code: "unknown_concept",
      field: "context.5.row",
    });
    expect(await failure(generateChain(deps, { context: [{ row: -1 }], steps: 1, stopCosine: 0.9 }))).toMatchObject({
      code: "unknown_concept",
      field: "context.0.row",
    });
  });

  it("needs no encoder, unlike a text", async () => {
    const noEncoder = { ...deps, encoder: undefined };
    const result = await nextConcepts(noEncoder, { context: [{ row: 5 }], k: 1, model: "copy-last" });
    expect(result.results[0].row).not.toBe(5);
    expect(await failure(nextConcepts(noEncoder, { context: [{ row: 5 }, "text"], k: 1 }))).toEqual({
      status: 400,
      code: "text_unsupported",
      field: "context.1",
    });
  });
});
