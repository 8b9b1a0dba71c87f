// lvm train --extra-store: more training articles from other stores, the main store's split and benchmark kept.
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { USE_LITE_ID } from "../../src/encoders/use-lite.ts";
import { parseUnit } from "../../src/ingest/corpus.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { readModel } from "../../src/lvm/read-model.ts";
import { documentsForEvaluation, splitDocuments, windowTargets } from "../../src/lvm/windows.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { parseLossWeights } from "../../src/train/losses.ts";
import type { TrainOptions } from "../../src/train/options.ts";
import { train } from "../../src/train/train.ts";
import { combineSources } from "../../src/train/training-source.ts";
import { WIKI_DIR } from "../lvm/mini-store.ts";

// The mini tier cut in two article-disjoint stores: the first 100 articles (main) and the other 47 (extra).
let root = "";
let main = "";
let extra = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "lvm-extra-"));
  const lines = gunzipSync(readFileSync(join(WIKI_DIR, "wiki-mini.jsonl.gz")))
    .toString("utf8")
    .trim()
    .split("\n");
  const counts = lines.map((l) => (JSON.parse(l).paragraphs as string[]).length);
  const vectors = readFileSync(join(WIKI_DIR, "wiki-mini.use-lite-512.f32"));
  const rowsBefore = counts.slice(0, 100).reduce((a, b) => a + b, 0);
  const parts = [
    { name: "main", lines: lines.slice(0, 100), bytes: vectors.subarray(0, rowsBefore * 2048) },
    { name: "extra", lines: lines.slice(100), bytes: vectors.subarray(rowsBefore * 2048) },
  ];
  for (const part of parts) {
    writeFileSync(join(root, `${part.name}.jsonl`), `${part.lines.join("\n")}\n`);
    writeFileSync(join(root, `${part.name}.f32`), part.bytes);
    await ingest({
      corpus: join(root, `${part.name}.jsonl`),
      store: join(root, part.name),
      unit: parseUnit("paragraph"),
      encoder: USE_LITE_ID,
      vectors: join(root, `${part.name}.f32`),
      skipBad: false,
      commitEvery: 4096,
    });
  }
  [main, extra] = [join(root, "main"), join(root, "extra")];
}, 60_000);
afterAll(async () => rm(root, { recursive: true, force: true }));

const options = (out: string, over: Partial<TrainOptions> = {}): TrainOptions => ({
  store: main,
  out,
  preset: "gru-edge",
  sizes: { hidden: 16 },
  epochs: 1,
  batch: 64,
  lr: 2e-3,
  warmupSteps: 2,
  minLrFraction: 0.1,
  temperature: 0.05,
  loss: parseLossWeights("infonce"),
  negatives: 128,
  hardNegatives: true,
  seed: 5,
  patience: 5,
  maxTrainWindows: 0,
  maxValWindows: 64,
  blendGrid: [0, 0.5],
  ...over,
});

describe("combineSources", () => {
  it("appends the extra stores' rows and documents after the main store's, whose indices stay", async () => {
    const [a, b] = [await readStore(main), await readStore(extra)];
    const combined = combineSources(a, [{ path: extra, store: b }]);
    const s = combined.source;
    expect(s.count).toBe(a.count + b.count);
    expect(s.documents.slice(0, a.documents.length)).toEqual(a.documents.map((d) => ({ id: d.id, first: d.first, count: d.count })));
    expect(combined.extraDocuments).toEqual(b.documents.map((_, i) => a.documents.length + i));
    const last = b.documents[b.documents.length - 1];
    const moved = s.documents[s.documents.length - 1];
    expect(moved).toEqual({ id: last.id, first: a.count + last.first, count: last.count });
    expect(s.vectors.subarray(moved.first * 512, (moved.first + 1) * 512)).toEqual(
      b.vectors.subarray(last.first * 512, (last.first + 1) * 512),
    );
    expect(s.vectors.subarray(0, a.count * 512)).toEqual(a.vectors);
    expect(combined.extras).toEqual([{ store: extra, documents: 47, count: b.count, documentsFnv1a: expect.any(Number) }]);
  });

  it("refuses an extra store that shares an article with the main store, or has another dimension", async () => {
    const [a, b] = [await readStore(main), await readStore(extra)];
    expect(() => combineSources(a, [{ path: "again", store: a }])).toThrow(
      `extra store again: document "${a.documents[0].id}" is also in the main store; the stores must share no article`,
    );
    expect(() =>
      combineSources(a, [
        { path: "x", store: b },
        { path: "y", store: b },
      ]),
    ).toThrow(/extra store y: .* is also in x/);
    const narrow = { dim: 256, count: 0, vectors: new Float32Array(0), documents: [], encoder: b.encoder };
    expect(() => combineSources(a, [{ path: "n", store: narrow }])).toThrow("extra store n: vectors are 256-D, the main store's 512-D");
  });
});

describe("lvm train --extra-store", () => {
  it("trains on the extra articles too, with the main store's split, validation and recorded provenance", async () => {
    const [alone, more] = [join(root, "alone"), join(root, "more")];
    await train(options(alone));
    await train(options(more, { extraStores: [extra] }));
    const [m1, m2] = [await readModel(alone), await readModel(more)];
    // Same split of the main store (so the benchmark's test articles are the same) ...
    for (const part of ["train", "val", "test"] as const) expect(m2.manifest.split[part]).toEqual(m1.manifest.split[part]);
    const b = await readStore(extra);
    expect(m2.manifest.split.extraTrain).toEqual(b.documents.map((d) => d.id));
    expect(m2.manifest.split.extraStores?.[0]).toMatchObject({ store: extra, documents: 47, count: b.count });
    expect(m1.manifest.split.extraStores).toBeUndefined();
    // ... more training windows (every extra article's), the same validation windows.
    const t1 = m1.manifest.training.store as { trainWindows: number; valWindows: number; count: number };
    const t2 = m2.manifest.training.store as { trainWindows: number; valWindows: number; count: number };
    expect(t2.trainWindows - t1.trainWindows).toBe(windowTargets(b, b.documents.keys(), 5).length);
    expect(t2.valWindows).toBe(t1.valWindows);
    expect(t2.count).toBe(t1.count);
    // Scored on another store, the extra articles count as seen: none of them is evaluated.
    const a = await readStore(main);
    const split = splitDocuments(a.documents.length, 5);
    expect(m2.manifest.split.test).toEqual(split.test.map((d) => a.documents[d].id));
    const onExtra = documentsForEvaluation(b, m2.manifest.split, "test");
    expect(onExtra).toEqual({ documents: [], sameStore: false });
    expect(documentsForEvaluation(b, m1.manifest.split, "test").documents.length).toBe(47);
  }, 120_000);

  it("resume refuses extra stores that changed since training began", async () => {
    const out = join(root, "resume-extra");
    expect(await train(options(out, { epochs: 2, extraStores: [extra] }), { stopAfterEpoch: (e) => e === 1 })).toBeNull();
    const path = join(out, "checkpoint", "last", "model.json");
    const original = await readFile(path, "utf8");
    const manifest = JSON.parse(original);
    manifest.split.extraStores[0].count += 1;
    await writeFile(path, JSON.stringify(manifest));
    await expect(train(options(out, { epochs: 2, extraStores: [extra] }), {}, true)).rejects.toThrow(
      /cannot resume .*: extra store .* holds 47 documents \/ \d+ concepts .*training began with 47 \/ \d+/,
    );
    await writeFile(path, original);
    expect(await train(options(out, { epochs: 2, extraStores: [extra] }), {}, true)).not.toBeNull();
  }, 120_000);
});
