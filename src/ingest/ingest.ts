// Node: `lvm ingest` — corpus file → concept store, embedding or importing vectors, resumable.
import { open, stat } from "node:fs/promises";
import { EmbedPool } from "../encoders/embed-pool-node.ts";
import { encoderEntry } from "../encoders/registry-node.ts";
import type { Encoder } from "../encoders/types.ts";
import { normalizeRows } from "../math/vectors.ts";
import type { EncoderRef } from "../store/format.ts";
import { type NewDocument, StoreWriter } from "../store/fs-store.ts";
import { type CorpusDocument, CorpusLineError, parseCorpusLine, type Unit } from "./corpus.ts";
import { readLines } from "./read-lines.ts";

export interface IngestOptions {
  corpus: string;
  store: string;
  unit: Unit;
  /** Encoder id recorded in the store; embeds with it unless `vectors` is given. */
  encoder: string;
  /** Precomputed float32 rows, one per unit in corpus order. */
  vectors?: string;
  skipBad: boolean;
  /** Concepts per commit (a commit is the unit of work a kill can lose). */
  commitEvery: number;
  /**
   * Worker threads that embed (default 1: on the calling thread). With N > 1 each thread loads its own encoder
   * and embeds whole commits, up to 2N of them at once; this thread keeps the single writer and commits them in
   * corpus order, so resume and exactly-once are as with one thread.
   */
  threads?: number;
  onProgress?: (p: IngestProgress) => void;
}

export interface IngestProgress {
  /** Units processed (committed or skipped as already present) out of total. */
  done: number;
  total: number;
}

export interface IngestResult {
  documentsAdded: number;
  conceptsAdded: number;
  /** Documents already in the store (an earlier, maybe interrupted, run): skipped. */
  documentsSkipped: number;
  badLines: { line: number; message: string }[];
  storeCount: number;
}

interface Scanned {
  documents: number;
  units: number;
  badLines: { line: number; message: string }[];
}

async function* documents(path: string, unit: Unit, bad: (e: CorpusLineError) => void): AsyncGenerator<CorpusDocument & { line: number }> {
  const seen = new Map<string, number>();
  for await (const { line, lineNumber } of readLines(path)) {
    if (line.trim().length === 0) continue;
    try {
      const doc = parseCorpusLine(line, lineNumber, unit);
      const first = seen.get(doc.id);
      if (first !== undefined) throw new CorpusLineError(lineNumber, `duplicate document id "${doc.id}" (first at line ${first})`);
      seen.set(doc.id, lineNumber);
      yield { ...doc, line: lineNumber };
    } catch (error) {
      if (!(error instanceof CorpusLineError)) throw error;
      bad(error);
    }
  }
}

/** First pass: validates every line and counts units, before anything is written. */
async function scan(path: string, unit: Unit, skipBad: boolean): Promise<Scanned> {
  const result: Scanned = { documents: 0, units: 0, badLines: [] };
  for await (const doc of documents(path, unit, (e) => {
    if (!skipBad) throw new Error(`${path} ${e.message}`);
    result.badLines.push({ line: e.line, message: e.message });
  })) {
    result.documents++;
    result.units += doc.units.length;
  }
  return result;
}

export async function ingest(options: IngestOptions): Promise<IngestResult> {
  await stat(options.corpus).catch(() => {
    throw new Error(`corpus file not found: ${options.corpus}`);
  });
  const entry = encoderEntry(options.encoder);
  const ref: EncoderRef = { id: entry.id, dim: entry.dim };
  const scanned = await scan(options.corpus, options.unit, options.skipBad);
  const vectorsFile = options.vectors ? await openVectors(options.vectors, ref.dim, scanned) : undefined;
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be an integer >= 1, got ${options.threads}`);
  // Load the encoder (or each thread's) before the store exists, so a missing model file leaves no empty store behind.
  const pool = !vectorsFile && threads > 1 ? await EmbedPool.open(entry.id, threads) : undefined;
  let encoder: Encoder | undefined = vectorsFile || pool ? undefined : await entry.load();
  const writer = await StoreWriter.open(options.store, ref).catch(async (error) => {
    await vectorsFile?.close();
    await pool?.close();
    encoder?.dispose?.();
    throw error;
  });
  const result: IngestResult = {
    documentsAdded: 0,
    conceptsAdded: 0,
    documentsSkipped: 0,
    badLines: scanned.badLines,
    storeCount: writer.count,
  };
  type Pending = { doc: NewDocument; vectorRow: number };
  let pending: Pending[] = [];
  let pendingUnits = 0;
  let done = 0;
  /** Commits whose vectors are on their way, oldest first: committed in this order, whatever order they finish in. */
  const inFlight: { batch: Pending[]; texts: string[]; vectors: Promise<Float32Array> }[] = [];
  const maxInFlight = pool ? 2 * pool.threads : 1;

  const vectorsOf = async (batch: Pending[], texts: string[]): Promise<Float32Array> => {
    if (pool) return pool.embed(texts);
    if (!vectorsFile) {
      encoder ??= await entry.load();
      return encoder.embed(texts);
    }
    const vectors = new Float32Array(texts.length * ref.dim);
    let offset = 0;
    for (const p of batch) {
      const rows = p.doc.texts.length;
      const bytes = new Uint8Array(vectors.buffer, offset * ref.dim * 4, rows * ref.dim * 4);
      await vectorsFile.read(bytes, 0, bytes.length, p.vectorRow * ref.dim * 4);
      offset += rows;
    }
    return vectors;
  };

  const commit = async ({ batch, texts, vectors: ready }: (typeof inFlight)[number]) => {
    const vectors = await ready;
    normalizeRows(vectors, ref.dim, (r) => {
      let row = r;
      for (const p of batch) {
        if (row < p.doc.texts.length) return `document "${p.doc.id}" unit ${row} (vector row ${p.vectorRow + row})`;
        row -= p.doc.texts.length;
      }
      return `row ${r}`;
    });
    await writer.append(
      batch.map((p) => p.doc),
      vectors,
    );
    result.documentsAdded += batch.length;
    result.conceptsAdded += texts.length;
    done += texts.length;
    options.onProgress?.({ done, total: scanned.units });
  };

  const flush = async () => {
    if (pending.length > 0) {
      const batch = pending;
      const texts = batch.flatMap((p) => p.doc.texts);
      const vectors = vectorsOf(batch, texts);
      vectors.catch(() => {}); // a failure surfaces when its turn to commit comes, not as an unhandled rejection
      inFlight.push({ batch, texts, vectors });
      pending = [];
      pendingUnits = 0;
    }
    while (inFlight.length >= maxInFlight) await commit(inFlight.shift()!);
  };

  try {
    let vectorRow = 0;
    for await (const doc of documents(options.corpus, options.unit, () => {})) {
      if (writer.documentIds.has(doc.id)) {
        result.documentsSkipped++;
        done += doc.units.length;
      } else {
        pending.push({ doc: { id: doc.id, title: doc.title, texts: doc.units }, vectorRow });
        pendingUnits += doc.units.length;
        if (pendingUnits >= options.commitEvery) await flush();
      }
      vectorRow += doc.units.length;
    }
    await flush();
    while (inFlight.length > 0) await commit(inFlight.shift()!);
  } finally {
    await writer.close();
    await vectorsFile?.close();
    await pool?.close();
    encoder?.dispose?.();
  }
  result.storeCount = writer.count;
  return result;
}

async function openVectors(path: string, dim: number, scanned: Scanned) {
  const size = await stat(path).then(
    (s) => s.size,
    () => {
      throw new Error(`vectors file not found: ${path}`);
    },
  );
  if (scanned.badLines.length > 0) {
    throw new Error(
      `--vectors rows follow the corpus line by line, so they cannot be aligned past a bad line (first: line ${scanned.badLines[0].line}); fix the corpus`,
    );
  }
  const rowBytes = dim * 4;
  if (size % rowBytes !== 0 || size / rowBytes !== scanned.units) {
    throw new Error(
      `${path} has ${size} bytes = ${(size / rowBytes).toFixed(2)} rows of ${dim} float32, but the corpus yields ${scanned.units} concepts (expected ${scanned.units * rowBytes} bytes)`,
    );
  }
  return open(path, "r");
}
