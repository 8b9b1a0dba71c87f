// Serving while an ingest appends to the same store: readers take no lock and always see one whole commit
// (the manifest is the commit point), and POST /v1/admin/reload swaps the server onto the latest commit.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingest } from "../../src/ingest/ingest.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { REPO, startNodeServer, tempDir } from "../helpers.ts";
import { DIM, LVM, MINI_CONCEPTS, type MiniDoc, miniDocs, miniVectors } from "./mini.ts";

const COMMIT_EVERY = 50;
const KEY = "reliability-admin-key";

/** The concept counts an ingest with --commit-every n can leave committed, starting from `first` documents. */
function commitPoints(docs: MiniDoc[], first: number, n: number): Set<number> {
  let count = docs.slice(0, first).reduce((s, d) => s + d.paragraphs.length, 0);
  const points = new Set([count]);
  let pending = 0;
  for (const d of docs.slice(first)) {
    pending += d.paragraphs.length;
    if (pending >= n) {
      count += pending;
      pending = 0;
      points.add(count);
    }
  }
  points.add(count + pending);
  return points;
}

describe("serving during an ingest into the same store", () => {
  it("every answer comes from one whole commit, and reload picks up the newest", async () => {
    await using dir = await tempDir();
    const docs = await miniDocs();
    const shared = await miniVectors();
    const sourceRow = new Map<string, number>();
    let r = 0;
    for (const d of docs) {
      sourceRow.set(d.id, r);
      r += d.paragraphs.length;
    }
    const sharedRow = (documentId: string, position: number) =>
      shared.subarray((sourceRow.get(documentId)! + position) * DIM, (sourceRow.get(documentId)! + position + 1) * DIM);
    const FIRST = 40;
    const head = join(dir.path, "head.jsonl");
    const headUnits = docs.slice(0, FIRST).reduce((s, d) => s + d.paragraphs.length, 0);
    await writeFile(
      head,
      `${docs
        .slice(0, FIRST)
        .map((d) => JSON.stringify(d))
        .join("\n")}\n`,
    );
    await writeFile(join(dir.path, "head.f32"), new Uint8Array(shared.buffer, 0, headUnits * DIM * 4));
    const store = join(dir.path, "store");
    await ingest({
      corpus: head,
      vectors: join(dir.path, "head.f32"),
      store,
      unit: { kind: "paragraph" },
      encoder: "use-lite",
      skipBad: false,
      commitEvery: 4096,
    });
    const SLICES = 4;
    const per = Math.ceil((docs.length - FIRST) / SLICES);
    const slices: { corpus: string; vectors: string }[] = [];
    const points = new Set<number>();
    for (let k = 0, from = FIRST, row = headUnits; from < docs.length; k++, from += per) {
      const part = docs.slice(from, from + per);
      const units = part.reduce((n, d) => n + d.paragraphs.length, 0);
      const slice = { corpus: join(dir.path, `slice-${k}.jsonl`), vectors: join(dir.path, `slice-${k}.f32`) };
      await writeFile(slice.corpus, `${part.map((d) => JSON.stringify(d)).join("\n")}\n`);
      await writeFile(slice.vectors, new Uint8Array(shared.buffer, shared.byteOffset + row * DIM * 4, units * DIM * 4));
      slices.push(slice);
      for (const p of commitPoints(docs.slice(0, from + per), from, COMMIT_EVERY)) points.add(p);
      row += units;
    }

    const server = await startNodeServer({ LVM_STORE: store, LVM_ADMIN_KEY: KEY, LVM_METRICS_DB: "off" });
    try {
      const get = async (path: string) => {
        const res = await fetch(`${server.base}${path}`);
        expect(res.status, path).toBe(200);
        return res.json();
      };
      const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(`${server.base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
        });
        expect(res.status, path).toBe(200);
        return res.json();
      };
      expect((await get("/healthz")).store.concepts).toBe(headUnits);

      // The rest arrives in SLICES ingests, one after the other: one ingest of the mini tier takes ~0.3 s (less
      // than a reload, which opens the store, its indexes and the models), so a single one could end between two
      // reloads; between the slices the store rests at a commit while the next process starts.
      const ingestSlices = async () => {
        for (const slice of slices) {
          const child = spawn(
            process.execPath,
            [LVM, "ingest", slice.corpus, "--store", store, "--vectors", slice.vectors, "--commit-every", String(COMMIT_EVERY)],
            { cwd: REPO, stdio: "ignore" },
          );
          const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
          if (code !== 0) return code;
        }
        return 0;
      };
      const exited = ingestSlices();
      let running = true;
      void exited.then(() => (running = false));
      const servedCounts = new Set<number>();
      const readCounts = new Set<number>();
      let answers = 0;
      const reloader = (async () => {
        while (running) {
          await post("/v1/admin/reload", {}, { authorization: `Bearer ${KEY}` });
          await new Promise((res) => setTimeout(res, 20));
        }
      })();
      const client = async () => {
        while (running) {
          const count = (await get("/healthz")).store.concepts as number;
          expect(points.has(count), `served count ${count} is not a commit`).toBe(true);
          servedCounts.add(count);
          const row = Math.floor(Math.random() * count);
          const concept = await get(`/v1/concepts/${row}`);
          // Text, provenance and vector of one row belong together.
          const want = sharedRow(concept.documentId, concept.position);
          expect(concept.text).toBe(
            docs[sourceRow.has(concept.documentId) ? docs.findIndex((d) => d.id === concept.documentId) : -1].paragraphs[concept.position],
          );
          expect(Math.max(...concept.vector.map((v: number, j: number) => Math.abs(v - want[j])))).toBeLessThan(1e-5);
          // A search for that vector finds that very paragraph first (index and texts of one commit).
          const hits = await post("/v1/search", { vector: Array.from(want), k: 1, exact: true });
          expect(hits.results[0].score).toBeGreaterThan(0.999);
          expect(hits.results[0].text).toBe(concept.text);
          answers++;
        }
      };
      const reader = async () => {
        while (running) {
          // What `lvm eval` / `lvm search` do: open the store while it is being appended to.
          const s = await readStore(store);
          expect(points.has(s.count), `read count ${s.count} is not a commit`).toBe(true);
          readCounts.add(s.count);
          const row = s.count - 1;
          const c = s.concept(row);
          const want = sharedRow(c.documentId, c.position);
          expect(Math.max(...Array.from(s.vector(row), (v, k) => Math.abs(v - want[k])))).toBeLessThan(1e-5);
        }
      };
      await Promise.all([reloader, client(), client(), reader()]);
      expect(await exited).toBe(0);
      await post("/v1/admin/reload", {}, { authorization: `Bearer ${KEY}` });
      expect((await get("/healthz")).store.concepts).toBe(MINI_CONCEPTS);
      expect(answers).toBeGreaterThan(0);
      // The server moved along with the ingest (today's reload reloaded only the models: one count).
      expect(servedCounts.size, `served counts ${[...servedCounts].join(", ")}`).toBeGreaterThan(1);
      expect(readCounts.size).toBeGreaterThan(1);
    } finally {
      server.stop();
    }
  });
});
