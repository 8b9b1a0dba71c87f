// Bad and extreme text input on the Node app with the core INT8 encoder: empty texts, a 100 kB text (cut at
// the encoder's 128 tokens and said so), lone surrogates and control characters (normalised, documented in
// the schema), and 10,000 texts (refused by the schema before anything is embedded).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { MAX_TEXTS, normalizeText } from "../../src/api/schemas.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import type { Encoder } from "../../src/encoders/types.ts";
import { loadUseLiteCoreEncoder } from "../../src/encoders/use-lite-core-node.ts";
import { CoreIndex } from "../../src/index/core-index.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, tempDir } from "../helpers.ts";

let app: ReturnType<typeof createApp>;
let cleanup: () => Promise<void>;
let inner: Encoder;
/** Texts the encoder was asked to embed, across the app's calls. */
const embedded: string[] = [];

beforeAll(async () => {
  const d = await tempDir();
  cleanup = d[Symbol.asyncDispose];
  const store = await readStore(await buildMiniStore(join(d.path, "store")));
  const core = await loadCore();
  inner = await loadUseLiteCoreEncoder();
  // The encoder as the app sees it, counting what reaches it.
  const counting: Encoder = {
    id: inner.id,
    dim: inner.dim,
    embed: (texts) => {
      embedded.push(...texts);
      return inner.embed(texts);
    },
    truncates: (text) => inner.truncates!(text),
  };
  const models = new ModelRegistry();
  for (const b of baselineModels(512, "use-lite")) models.add(b);
  app = createApp({
    store,
    exactIndex: Object.assign(new CoreIndex(core, store), { kind: "exact-core" }),
    encoder: async () => counting,
    models,
    runtime: "node",
  });
});
afterAll(async () => {
  inner?.dispose?.();
  await cleanup?.();
});

const post = (path: string, body: unknown) =>
  app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function embed(texts: string[]): Promise<{ vectors: number[][]; truncated?: number[] }> {
  const res = await post("/v1/embed", { texts });
  expect(res.status).toBe(200);
  return res.json();
}

/** ~100 kB of prose: far past 128 tokens. */
const long = Array.from({ length: 2500 }, (_, i) => `Sentence ${i} tells of rivers and hills. `)
  .join("")
  .slice(0, 100_000);

describe("text input: empty texts", () => {
  it.each([
    ["/v1/embed", { texts: ["fine", "   "] }, "texts.1"],
    ["/v1/embed", { texts: ["fine", "\u0000\u0001\u007f"] }, "texts.1"],
    ["/v1/next", { context: ["fine", ""], model: "copy-last" }, "context.1"],
    ["/v1/generate", { context: [" \t "], model: "copy-last" }, "context.0"],
    ["/v1/search", { text: "" }, "text"],
  ])("%s %j is a 400 naming the field", async (path, body, field) => {
    const before = embedded.length;
    const res = await post(path, body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; field: string; message: string } };
    expect(error).toMatchObject({ code: "invalid_request", field });
    expect(error.message).toMatch(/non-empty/);
    expect(embedded.length).toBe(before);
  });
});

describe("text input: a 100 kB text", () => {
  it("is embedded from its first 128 tokens, and the response says it was cut", async () => {
    const short = "A short sentence about rivers.";
    const { vectors, truncated } = await embed([short, long]);
    expect(truncated).toEqual([1]);
    // The first 128 tokens are all the encoder reads: any prefix holding them gives the same vector.
    const prefix = long.slice(0, long.indexOf(" ", 2000));
    expect(inner.truncates!(prefix)).toBe(true);
    const { vectors: again } = await embed([prefix]);
    expect(vectors[1]).toEqual(again[0]);
  });

  it("is not flagged when it fits the 128 tokens", async () => {
    const body = (await embed(["A short sentence about rivers.", "Another one."])) as Record<string, unknown>;
    expect(body.truncated).toBeUndefined();
  });

  it("is flagged on /v1/next and /v1/generate (context index) and /v1/search", async () => {
    const next = await post("/v1/next", { context: ["Rivers run to the sea.", long, "Hills rise."], k: 3, model: "copy-last" });
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ truncated: [1] });
    const generate = await post("/v1/generate", { context: [long], steps: 2, model: "copy-last" });
    expect(generate.status).toBe(200);
    expect(await generate.json()).toMatchObject({ truncated: [0] });
    const search = await post("/v1/search", { text: long, k: 3 });
    expect(search.status).toBe(200);
    expect(await search.json()).toMatchObject({ truncated: true });
    const plain = (await (await post("/v1/search", { text: "Rivers run to the sea.", k: 3 })).json()) as Record<string, unknown>;
    expect(plain.truncated).toBeUndefined();
  });

  it("costs the encoder its first characters only, even at the 1 MiB body limit", async () => {
    const huge = long.repeat(10).slice(0, 1_000_000);
    const { vectors, truncated } = await embed([huge]);
    expect(truncated).toEqual([0]);
    const { vectors: again } = await embed([long]);
    expect(vectors[0]).toEqual(again[0]);
  });
});

describe("text input: lone surrogates and control characters", () => {
  it("are normalised (U+FFFD, space) and embedded like their normal form", async () => {
    const { vectors } = await embed([
      "rivers \uD800 and \uDC00 hills",
      "rivers \uFFFD and \uFFFD hills",
      "a\u0000b\u001fc\u0085d",
      "a b c d",
    ]);
    expect(vectors[0]).toEqual(vectors[1]);
    expect(vectors[2]).toEqual(vectors[3]);
    // Valid pairs, tab, LF and CR are left alone (both an emoji and U+FFFD are the encoder's unknown token).
    expect(normalizeText("a\uD83D\uDE00\t\n\r\uD800\u0085")).toBe("a\uD83D\uDE00\t\n\r\uFFFD ");
  });

  it("in a context and a search are a clean 200", async () => {
    const next = await post("/v1/next", { context: ["\uDFFF", "tab\tand\u0007bell"], k: 2, model: "copy-last" });
    expect(next.status).toBe(200);
    const search = await post("/v1/search", { text: "\uD800\u0000x", k: 2 });
    expect(search.status).toBe(200);
  });
});

describe("text input: too many texts", () => {
  it("10,000 texts in /v1/embed are a 400 naming the limit, before anything is embedded", async () => {
    const before = embedded.length;
    const res = await post("/v1/embed", { texts: Array.from({ length: 10_000 }, (_, i) => `text ${i}`) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { field: string; message: string } };
    expect(error.field).toBe("texts");
    expect(error.message).toContain(`at most ${MAX_TEXTS} texts`);
    expect(embedded.length).toBe(before);
  });

  it("10,000 context texts in /v1/next are a 400 naming the limit, before anything is embedded", async () => {
    const before = embedded.length;
    const res = await post("/v1/next", { context: Array.from({ length: 10_000 }, (_, i) => `text ${i}`), model: "copy-last" });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { field: string; message: string } };
    expect(error.field).toBe("context");
    expect(error.message).toMatch(/at most 64/);
    expect(embedded.length).toBe(before);
  });

  it("a body past 1 MiB (e.g. 256 texts of 100 kB) is a 413 before it is read", async () => {
    const res = await post("/v1/embed", { texts: Array.from({ length: 20 }, () => long) });
    expect(res.status).toBe(413);
  });
});
