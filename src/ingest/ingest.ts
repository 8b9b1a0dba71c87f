// Node: `lvm ingest` — corpus file → concept store, embedding or importing vectors, resumable.
import { open, stat } from "node:fs/promises";
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
  // Load the encoder before the store exists, so a missing model file leaves no empty store behind.
  let encoder: Encoder | undefined = vectorsFile ? undefined : await entry.load();
  const writer = await StoreWriter.open(options.store, ref).catch(async (error) => {
    await vectorsFile?.close();
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
  let pending: { doc: NewDocument; vectorRow: number }[] = [];
  let pendingUnits = 0;
  let done = 0;

  const flush = async () => {
    if (pending.length === 0) return;
    const texts = pending.flatMap((p) => p.doc.texts);
    let vectors: Float32Array;
    if (vectorsFile) {
      vectors = new Float32Array(texts.length * ref.dim);
      let offset = 0;
      for (const p of pending) {
        const rows = p.doc.texts.length;
        const bytes = new Uint8Array(vectors.buffer, offset * ref.dim * 4, rows * ref.dim * 4);
        await vectorsFile.read(bytes, 0, bytes.length, p.vectorRow * ref.dim * 4);
        offset += rows;
      }
    } else {
      encoder ??= await entry.load();
      vectors = await encoder.embed(texts);
    }
    normalizeRows(vectors, ref.dim, (r) => {
      let row = r;
      for (const p of pending) {
        if (row < p.doc.texts.length) return `document "${p.doc.id}" unit ${row} (vector row ${p.vectorRow + row})`;
        row -= p.doc.texts.length;
      }
      return `row ${r}`;
    });
    await writer.append(
      pending.map((p) => p.doc),
      vectors,
    );
    result.documentsAdded += pending.length;
    result.conceptsAdded += texts.length;
    done += texts.length;
    pending = [];
    pendingUnits = 0;
    options.onProgress?.({ done, total: scanned.units });
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
  } finally {
    await writer.close();
    await vectorsFile?.close();
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
