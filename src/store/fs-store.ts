// Node adapter of the concept store: reads a store directory and appends to it crash-safely, one writer at a time.
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { mkdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirectory, removeTempFiles, writeFileAtomic } from "../fs/atomic-write-node.ts";
import { acquireWriteLock, type WriteLock } from "../fs/write-lock-node.ts";
import { ConceptStore } from "./concept-store.ts";
import {
  assertSameEncoder,
  committedLengths,
  type EncoderRef,
  FILES,
  parseDocuments,
  parseManifest,
  ROW_FIELDS,
  STORE_FORMAT,
  STORE_VERSION,
  StoreError,
  type StoreManifest,
} from "./format.ts";
import { quantizeRows } from "./quantize.ts";

type DataFile = Exclude<keyof typeof FILES, "manifest">;
const DATA_FILES = Object.keys(FILES).filter((k) => k !== "manifest") as DataFile[];

export async function storeExists(dir: string): Promise<boolean> {
  return stat(join(dir, FILES.manifest)).then(
    () => true,
    () => false,
  );
}

export async function readManifest(dir: string): Promise<StoreManifest> {
  const path = join(dir, FILES.manifest);
  let json: string;
  try {
    json = await readFile(path, "utf8");
  } catch {
    throw new StoreError(`${dir} is not a concept store: ${FILES.manifest} is missing (create one with 'lvm ingest')`);
  }
  return parseManifest(json, path);
}

/** Copies when a Buffer is not aligned for typed-array views (small reads share Node's pool). */
function aligned(buf: Buffer, length: number, bytesPerElement: number): ArrayBuffer {
  if (buf.byteOffset % bytesPerElement === 0) return (buf.buffer as ArrayBuffer).slice(buf.byteOffset, buf.byteOffset + length);
  return new Uint8Array(buf.subarray(0, length)).buffer;
}

async function readCommitted(dir: string, file: DataFile, length: number): Promise<Buffer> {
  const path = join(dir, FILES[file]);
  const buf = await readFile(path).catch(() => {
    throw new StoreError(`${path} is missing; the store is incomplete`);
  });
  if (buf.length < length) throw new StoreError(`${path} is truncated: ${buf.length} bytes, the manifest needs ${length}`);
  return buf;
}

/** Loads a whole store: one read per file. */
export async function readStore(dir: string): Promise<ConceptStore> {
  const manifest = await readManifest(dir);
  const lengths = committedLengths(manifest);
  const [documentsBuf, texts, rows, vectors, int8, scales] = await Promise.all(DATA_FILES.map((f) => readCommitted(dir, f, lengths[f])));
  const documents = parseDocuments(documentsBuf.subarray(0, lengths.documents).toString("utf8"), join(dir, FILES.documents));
  if (documents.length !== manifest.documents) {
    throw new StoreError(`${join(dir, FILES.documents)} has ${documents.length} documents, the manifest says ${manifest.documents}`);
  }
  return new ConceptStore({
    manifest,
    documents,
    texts: new Uint8Array(texts.buffer, texts.byteOffset, lengths.texts),
    rows: new Uint32Array(aligned(rows, lengths.rows, 4)),
    vectors: new Float32Array(aligned(vectors, lengths.vectors, 4)),
    int8: new Int8Array(int8.buffer, int8.byteOffset, lengths.int8),
    scales: new Float32Array(aligned(scales, lengths.scales, 4)),
  });
}

export interface NewDocument {
  id: string;
  title: string;
  texts: string[];
}

/** Disk full or over quota: the errors a retry after freeing space cures. */
function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Appends whole documents to a store. `open` takes the store's write lock (src/fs/write-lock-node.ts: a second
 * writer is refused, naming the first); `close` releases it. Each `append` writes every data file, fsyncs them,
 * then replaces the manifest atomically (temp file, fsync, rename, directory fsync): the manifest is the commit
 * point, so a kill at any moment leaves the previous commit intact, readers (which take no lock) see the last
 * commit, and the partial tail is cut off by the next `open`.
 */
export class StoreWriter {
  readonly dir: string;
  private manifest: StoreManifest;
  /** Ids of committed documents: a re-run skips them, which is how an interrupted ingest resumes. */
  readonly documentIds: Set<string>;
  private readonly lock: WriteLock;

  private constructor(dir: string, manifest: StoreManifest, documentIds: Set<string>, lock: WriteLock) {
    this.dir = dir;
    this.manifest = manifest;
    this.documentIds = documentIds;
    this.lock = lock;
  }

  /** Releases the write lock; the writer must not be used after. */
  async close(): Promise<void> {
    await this.lock.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  get count(): number {
    return this.manifest.count;
  }

  get encoder(): EncoderRef {
    return this.manifest.encoder;
  }

  /** `command` names the writer in the lock, for whoever is refused meanwhile. */
  static async open(dir: string, encoder: EncoderRef, options: { command?: string } = {}): Promise<StoreWriter> {
    await mkdir(dir, { recursive: true });
    const lock = await acquireWriteLock(dir, { command: options.command ?? "lvm ingest" });
    try {
      return await StoreWriter.openLocked(dir, encoder, lock);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  private static async openLocked(dir: string, encoder: EncoderRef, lock: WriteLock): Promise<StoreWriter> {
    await removeTempFiles(dir);
    let manifest: StoreManifest;
    if (await storeExists(dir)) {
      manifest = await readManifest(dir);
      assertSameEncoder(manifest.encoder, encoder, "this ingest");
    } else {
      manifest = {
        format: STORE_FORMAT,
        version: STORE_VERSION,
        encoder: { id: encoder.id, dim: encoder.dim },
        count: 0,
        documents: 0,
        textBytes: 0,
        documentBytes: 0,
        updatedAt: new Date().toISOString(),
      };
    }
    const lengths = committedLengths(manifest);
    let created = false;
    for (const file of DATA_FILES) {
      const path = join(dir, FILES[file]);
      const size = await stat(path).then(
        (s) => s.size,
        () => -1,
      );
      if (size === -1) {
        if (lengths[file] > 0) throw new StoreError(`${path} is missing; the store is incomplete`);
        await writeFile(path, "");
        created = true;
      } else if (size < lengths[file]) {
        throw new StoreError(`${path} is truncated: ${size} bytes, the manifest needs ${lengths[file]}`);
      } else if (size > lengths[file]) {
        await truncate(path, lengths[file]); // the uncommitted tail of an interrupted append
      }
    }
    if (created) await fsyncDirectory(dir);
    const docs = parseDocuments((await readCommitted(dir, "documents", lengths.documents)).toString("utf8"), join(dir, FILES.documents));
    if (manifest.count === 0) await writeManifest(dir, manifest);
    return new StoreWriter(dir, manifest, new Set(docs.map((d) => d.id)), lock);
  }

  /** vectors: one unit-length row per text, in document order (sum of texts.length rows x dim). */
  async append(documents: NewDocument[], vectors: Float32Array): Promise<void> {
    const dim = this.manifest.encoder.dim;
    const total = documents.reduce((n, d) => n + d.texts.length, 0);
    if (vectors.length !== total * dim) throw new Error(`append: ${total} texts but ${vectors.length / dim} vector rows`);
    const encoder = new TextEncoder();
    const rows = new Uint32Array(total * ROW_FIELDS);
    const textChunks: Uint8Array[] = [];
    const docLines: string[] = [];
    let textBytes = this.manifest.textBytes;
    let row = 0;
    let docIndex = this.manifest.documents;
    for (const doc of documents) {
      if (this.documentIds.has(doc.id)) throw new StoreError(`document '${doc.id}' is already in the store`);
      docLines.push(JSON.stringify({ id: doc.id, title: doc.title, first: this.manifest.count + row, count: doc.texts.length }));
      doc.texts.forEach((text, position) => {
        const bytes = encoder.encode(text);
        rows.set([textBytes, bytes.length, docIndex, position], row * ROW_FIELDS);
        textChunks.push(bytes);
        textBytes += bytes.length;
        row++;
      });
      docIndex++;
    }
    const { codes, scales } = quantizeRows(vectors, dim);
    const docBytes = Buffer.from(docLines.map((l) => `${l}\n`).join(""), "utf8");
    const writes: Record<DataFile, Uint8Array[]> = {
      documents: [docBytes],
      texts: textChunks,
      rows: [new Uint8Array(rows.buffer)],
      vectors: [new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength)],
      int8: [new Uint8Array(codes.buffer)],
      scales: [new Uint8Array(scales.buffer)],
    };
    const next: StoreManifest = {
      ...this.manifest,
      count: this.manifest.count + total,
      documents: docIndex,
      textBytes,
      documentBytes: this.manifest.documentBytes + docBytes.length,
      updatedAt: new Date().toISOString(),
    };
    try {
      for (const file of DATA_FILES) appendDurably(join(this.dir, FILES[file]), writes[file]);
      await writeManifest(this.dir, next);
    } catch (error) {
      if (!isOutOfSpace(error)) throw error;
      // Give the space of the uncommitted tail back; the next open would cut it off anyway.
      const lengths = committedLengths(this.manifest);
      for (const file of DATA_FILES) await truncate(join(this.dir, FILES[file]), lengths[file]).catch(() => {});
      const m = this.manifest;
      throw new StoreError(
        `disk full while appending to the store ${this.dir} (${(error as Error).message}): nothing of this batch was committed; ` +
          `the store is intact at its last commit (${m.count} concepts, ${m.documents} documents). Free some space and run the same command again to resume.`,
      );
    }
    this.manifest = next;
    for (const doc of documents) this.documentIds.add(doc.id);
  }
}

function appendDurably(path: string, chunks: Uint8Array[]): void {
  const fd = openSync(path, "a");
  try {
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The commit: replaces store.json atomically and durably. */
async function writeManifest(dir: string, manifest: StoreManifest): Promise<void> {
  await writeFileAtomic(join(dir, FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
}
