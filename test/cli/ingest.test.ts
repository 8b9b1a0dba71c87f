import { spawn, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readManifest, readStore, storeExists } from "../../src/store/fs-store.ts";
import { MINI_CORPUS, MINI_VECTORS, REPO, tempDir } from "../helpers.ts";

const LVM = join(REPO, "bin/lvm.js");
const DIM = 512;

function lvm(...args: string[]) {
  const r = spawnSync(process.execPath, [LVM, ...args], { encoding: "utf8", cwd: REPO });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function miniDocs(): Promise<{ id: string; title: string; paragraphs: string[] }[]> {
  return gunzipSync(await readFile(MINI_CORPUS))
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("lvm ingest", () => {
  it("imports the mini tier with its vectors: every paragraph once, in order, with its own vector", async () => {
    await using dir = await tempDir();
    const r = lvm("ingest", MINI_CORPUS, "--store", dir.path, "--vectors", MINI_VECTORS);
    expect(r.code).toBe(0);
    // Not a terminal: cli-progress's plain lines with rate and ETA, ending at 100%.
    expect(r.stderr).toMatch(/ingest: 100% \| 6399\/6399 \| \d+\/s \| ETA 0s\n$/);
    expect(r.stdout).toMatch(/ingested 6399 concepts from 147 documents/);
    const store = await readStore(dir.path);
    const docs = await miniDocs();
    const shared = new Float32Array(new Uint8Array(await readFile(MINI_VECTORS)).buffer);
    expect(store.count).toBe(6399);
    expect(store.documents.map((d) => d.id)).toEqual(docs.map((d) => d.id));
    const texts = docs.flatMap((d) => d.paragraphs);
    for (const row of [0, 1, 77, 3000, 6398]) {
      expect(store.text(row)).toBe(texts[row]);
      expect(Array.from(store.vector(row)).every((v, j) => Math.abs(v - shared[row * DIM + j]) < 1e-6)).toBe(true);
    }
    // Running it again adds nothing: every document is already there.
    expect(lvm("ingest", MINI_CORPUS, "--store", dir.path, "--vectors", MINI_VECTORS).stdout).toMatch(
      /ingested 0 concepts.*147 documents were already in the store/,
    );
  });

  it("stops at a malformed line, naming it, and leaves the store untouched", async () => {
    await using dir = await tempDir();
    const corpus = join(dir.path, "c.jsonl");
    const store = join(dir.path, "store");
    await writeFile(corpus, '{"id":"a","title":"A","paragraphs":["p one"]}\n');
    await writeFile(join(dir.path, "v.f32"), new Uint8Array(new Float32Array(DIM).fill(1).buffer));
    expect(lvm("ingest", corpus, "--store", store, "--vectors", join(dir.path, "v.f32")).code).toBe(0);
    await writeFile(corpus, '{"id":"b","title":"B","paragraphs":["q"]}\n{"id":"c","paragraphs":[1]}\n{"id":"d","text":"r"}\n');
    const r = lvm("ingest", corpus, "--store", store);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 2: paragraphs.0: expected a string, got 1");
    const after = await readStore(store);
    expect(after.count).toBe(1);
    expect(after.text(0)).toBe("p one");
  });

  it("with --skip-bad goes on and lists the skipped lines at the end", async () => {
    await using dir = await tempDir();
    const corpus = join(dir.path, "c.jsonl");
    await writeFile(
      corpus,
      '{"id":"b","title":"B","paragraphs":["q one"]}\nnot json\n\n{"id":"d","text":"r two"}\n{"id":"b","text":"dup"}\n',
    );
    const r = lvm("ingest", corpus, "--store", join(dir.path, "s"), "--skip-bad");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ingested 2 concepts from 2 documents/);
    expect(r.stdout).toMatch(/skipped 2 bad lines:\n\s+line 2: not valid JSON.*\n\s+line 5: duplicate document id "b" \(first at line 1\)/);
  });

  it("refuses vectors of the wrong size and a store of another encoder, before writing anything", async () => {
    await using dir = await tempDir();
    const corpus = join(dir.path, "c.jsonl");
    await writeFile(corpus, '{"id":"a","title":"A","paragraphs":["one","two"]}\n');
    await writeFile(join(dir.path, "v.f32"), new Uint8Array(DIM * 4 * 3));
    const wrongSize = lvm("ingest", corpus, "--store", join(dir.path, "s"), "--vectors", join(dir.path, "v.f32"));
    expect(wrongSize.code).toBe(1);
    expect(wrongSize.stderr).toMatch(/has 6144 bytes = 3\.00 rows of 512 float32, but the corpus yields 2 concepts/);
    expect(await storeExists(join(dir.path, "s"))).toBe(false);

    const other = join(dir.path, "other");
    await writeFile(join(dir.path, "one.jsonl"), '{"id":"z","paragraphs":["x"]}\n');
    await writeFile(join(dir.path, "one.f32"), new Uint8Array(new Float32Array(DIM).fill(1).buffer));
    expect(lvm("ingest", join(dir.path, "one.jsonl"), "--store", other, "--vectors", join(dir.path, "one.f32")).code).toBe(0);
    const manifestPath = join(other, "store.json");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8"));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, encoder: { id: "gtr-t5-base", dim: 512 } }));
    const mixed = lvm("ingest", corpus, "--store", other);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/store was built with encoder 'gtr-t5-base' \(dim 512\); this ingest uses encoder 'use-lite' \(dim 512\)/);
  });

  it("prints usage errors with the command's help", () => {
    const r = lvm("ingest", MINI_CORPUS);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--store <dir> is required[\s\S]*Usage|--store <dir> is required[\s\S]*lvm ingest <corpus/);
    expect(lvm("ingest", "--help").stdout).toMatch(/--skip-bad[\s\S]*--threads <n>/);
    expect(lvm("ingest", MINI_CORPUS, "--store", "unused", "--threads", "0").stderr).toMatch(/--threads must be an integer >= 1, got '0'/);
    expect(lvm("nope").code).toBe(2);
  });

  it("killed with SIGKILL at random moments and run again, ends with every concept exactly once", async () => {
    await using dir = await tempDir();
    // Three copies of the mini tier under new ids: ~19k concepts, so a run lasts long enough to be killed.
    const docs = await miniDocs();
    const copies = 3;
    const corpus = join(dir.path, "big.jsonl");
    const shared = new Uint8Array(await readFile(MINI_VECTORS));
    await writeFile(
      corpus,
      Array.from({ length: copies }, (_, c) => docs.map((d) => JSON.stringify({ ...d, id: `${c}-${d.id}` })).join("\n")).join("\n"),
    );
    const vectors = join(dir.path, "big.f32");
    const all = new Uint8Array(shared.length * copies);
    for (let c = 0; c < copies; c++) all.set(shared, c * shared.length);
    await writeFile(vectors, all);
    const total = 6399 * copies;
    const store = join(dir.path, "store");
    const args = [LVM, "ingest", corpus, "--store", store, "--vectors", vectors, "--commit-every", "300"];

    let killedMidway = 0;
    for (let attempt = 0; attempt < 12 && killedMidway < 3; attempt++) {
      const child = spawn(process.execPath, args, { stdio: "ignore", cwd: REPO });
      const exited = new Promise((r) => child.once("exit", r));
      // Kill at a random moment once this run has committed something new (whatever the machine's speed).
      const before = (await storeExists(store)) ? (await readStore(store)).count : 0;
      const started = Date.now();
      while (Date.now() - started < 60_000 && child.exitCode === null) {
        const now = (await storeExists(store)) ? (await readManifest(store)).count : 0;
        if (now > before) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      child.kill("SIGKILL");
      await exited;
      const count = (await storeExists(store)) ? (await readStore(store)).count : 0;
      if (count > 0 && count < total) killedMidway++;
    }
    expect(killedMidway).toBeGreaterThan(0);
    const final = spawnSync(process.execPath, args, { encoding: "utf8", cwd: REPO });
    expect(final.status).toBe(0);

    const result = await readStore(store);
    expect(result.count).toBe(total);
    const seen = new Set(result.documents.map((d) => d.id));
    expect(seen.size).toBe(docs.length * copies);
    const texts = docs.flatMap((d) => d.paragraphs);
    const source = new Float32Array(shared.buffer);
    // Each stored row holds the text and vector of the paragraph its document and position name.
    const firstRowOf = new Map<string, number>();
    let r = 0;
    for (const d of docs) {
      firstRowOf.set(d.id, r);
      r += d.paragraphs.length;
    }
    for (let row = 0; row < result.count; row++) {
      const c = result.concept(row);
      const sourceRow = firstRowOf.get(c.documentId.slice(c.documentId.indexOf("-") + 1))! + c.position;
      expect(c.text).toBe(texts[sourceRow]);
      if (row % 97 === 0) expect(result.vector(row)[5]).toBeCloseTo(source[sourceRow * DIM + 5], 6);
    }
  });

  it("embedding on 2 worker threads, killed with SIGKILL at random moments and run again: every concept exactly once, each with its own vector", async () => {
    await using dir = await tempDir();
    // The first mini-tier documents up to ~1,200 paragraphs, embedded in commits of 48 on two threads.
    const docs: Awaited<ReturnType<typeof miniDocs>> = [];
    let units = 0;
    for (const d of await miniDocs()) {
      if (units >= 1200) break;
      docs.push(d);
      units += d.paragraphs.length;
    }
    const corpus = join(dir.path, "c.jsonl");
    await writeFile(corpus, docs.map((d) => JSON.stringify(d)).join("\n"));
    const store = join(dir.path, "store");
    const args = [LVM, "ingest", corpus, "--store", store, "--threads", "2", "--commit-every", "48"];

    let killedMidway = 0;
    for (let attempt = 0; attempt < 8 && killedMidway < 2; attempt++) {
      const child = spawn(process.execPath, args, { stdio: "ignore", cwd: REPO });
      const exited = new Promise((r) => child.once("exit", r));
      const before = (await storeExists(store)) ? (await readStore(store)).count : 0;
      const started = Date.now();
      while (Date.now() - started < 120_000 && child.exitCode === null) {
        const now = (await storeExists(store)) ? (await readManifest(store)).count : 0;
        if (now > before) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, Math.random() * 500));
      child.kill("SIGKILL");
      await exited;
      const count = (await storeExists(store)) ? (await readStore(store)).count : 0;
      if (count > 0 && count < units) killedMidway++;
    }
    expect(killedMidway).toBeGreaterThan(0);
    const final = spawnSync(process.execPath, args, { encoding: "utf8", cwd: REPO });
    expect(final.status).toBe(0);

    const result = await readStore(store);
    expect(result.count).toBe(units);
    expect(result.documents.map((d) => d.id)).toEqual(docs.map((d) => d.id));
    const texts = docs.flatMap((d) => d.paragraphs);
    const shared = new Float32Array(new Uint8Array(await readFile(MINI_VECTORS)).buffer);
    for (let row = 0; row < units; row++) {
      expect(result.text(row)).toBe(texts[row]);
      // The INT8 core's vector of this very paragraph (cosine to TF.js >= 0.999), not a neighbour's.
      if (row % 7 === 0) {
        const v = result.vector(row);
        let dot = 0;
        for (let j = 0; j < DIM; j++) dot += v[j] * shared[row * DIM + j];
        expect(dot).toBeGreaterThan(0.999);
      }
    }
  }, 600_000);
});
