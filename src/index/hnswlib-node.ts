/**
 * hnswlib-wasm in Node: the one place that knows its shims. The package is built for browsers only
 * (Emscripten ENVIRONMENT=web: it refuses to start without a `window` object) and saves indexes only into its
 * Emscripten file system, mounted as IDBFS at /hnswlib-index and synced to IndexedDB. Here:
 *  - `window` is defined (as { indexedDB }) only while the library starts or syncs its file system, then
 *    removed again: the rest of the process never sees it;
 *  - IndexedDB is fake-indexeddb's in-memory implementation, private to this adapter (no global);
 *  - saved bytes are read from that IndexedDB after writeIndex (IDBFS stores each file's bytes there), and
 *    bytes to load are put there and synced into the file system before readIndex;
 *  - the library's console chatter during syncs ("jsFS synced successfully") is silenced.
 */
import { IDBFactory } from "fake-indexeddb";

// The parts of hnswlib-wasm's API used here (its bundled .d.ts files do not resolve under NodeNext).
interface HierarchicalNSW {
  initIndex(maxElements: number, m: number, efConstruction: number, randomSeed: number): void;
  readIndex(filename: string, maxElements: number): Promise<boolean> | undefined;
  writeIndex(filename: string): Promise<boolean> | undefined;
  addPoints(items: Float32Array[], labels: number[], replaceDeleted: boolean): void;
  searchKnn(query: Float32Array, k: number, filter: undefined): { distances: number[]; neighbors: number[] };
  setEfSearch(ef: number): void;
  getCurrentCount(): number;
}
interface HnswlibModule {
  HierarchicalNSW: new (space: "ip" | "l2" | "cosine", dim: number, autoSaveFilename: string) => HierarchicalNSW;
  EmscriptenFileSystemManager: { isSynced(): boolean; syncFS(read: boolean, callback: () => void): void };
}

const MOUNT = "/hnswlib-index";
const STORE = "FILE_DATA";
const indexedDB = new IDBFactory();

let loading: Promise<HnswlibModule> | undefined;

/** Runs fn with the browser shim installed; removes it afterwards (unless a real `window` existed). */
async function withShim<T>(fn: () => T | Promise<T>): Promise<T> {
  const g = globalThis as { window?: unknown };
  const had = "window" in g;
  if (!had) g.window = { indexedDB };
  const log = console.log;
  console.log = (...args: unknown[]) => {
    const text = String(args[0] ?? "");
    if (!/jsFS|EmscriptenFileSystemManager|IDBFS|sync callback/.test(text)) log(...args);
  };
  try {
    return await fn();
  } finally {
    console.log = log;
    if (!had) delete g.window;
  }
}

function loadLib(): Promise<HnswlibModule> {
  loading ??= withShim(async () => {
    const { loadHnswlib } = (await import("hnswlib-wasm/dist/hnswlib.js")) as unknown as { loadHnswlib(): Promise<HnswlibModule> };
    const lib = await loadHnswlib();
    await waitSynced(lib);
    return lib;
  });
  return loading;
}

function waitSynced(lib: HnswlibModule): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (lib.EmscriptenFileSystemManager.isSynced() ? resolve() : setTimeout(check, 5));
    check();
  });
}

/** Pushes (read = false) or pulls (read = true) the Emscripten file system to/from the IndexedDB. */
function syncFs(lib: HnswlibModule, read: boolean): Promise<void> {
  return withShim(
    () =>
      new Promise<void>((resolve) => {
        lib.EmscriptenFileSystemManager.syncFS(read, () => resolve());
      }),
  );
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(MOUNT);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let fileCounter = 0;

export interface HnswlibBuildOptions {
  M: number;
  efConstruction: number;
  seed?: number;
  /** Points per addPoints call (the wrapper scans its label cache once per call). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

/** An hnswlib-wasm index over unit vectors (inner-product space: distance = 1 - dot). */
export class HnswlibIndex {
  readonly dim: number;
  private readonly index: HierarchicalNSW;
  private constructor(index: HierarchicalNSW, dim: number) {
    this.index = index;
    this.dim = dim;
  }

  /** Builds over vectors (count x dim, row-major); labels are the rows, added in row order. */
  static async build(vectors: Float32Array, dim: number, options: HnswlibBuildOptions): Promise<HnswlibIndex> {
    const lib = await loadLib();
    const count = vectors.length / dim;
    const index = new lib.HierarchicalNSW("ip", dim, "");
    index.initIndex(count, options.M, options.efConstruction, options.seed ?? 100);
    const batch = options.batch ?? 500;
    for (let from = 0; from < count; from += batch) {
      const to = Math.min(count, from + batch);
      const points: Float32Array[] = [];
      const labels: number[] = [];
      for (let r = from; r < to; r++) {
        points.push(vectors.subarray(r * dim, (r + 1) * dim));
        labels.push(r);
      }
      index.addPoints(points, labels, false);
      options.onProgress?.(to, count);
      // Let the progress bar (and signals) through between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return new HnswlibIndex(index, dim);
  }

  /** Loads saveIndex() bytes (hnswlib's own format) into hnswlib-wasm. */
  static async load(bytes: Uint8Array, dim: number): Promise<HnswlibIndex> {
    const lib = await loadLib();
    const name = `load-${process.pid}-${fileCounter++}.bin`;
    return withShim(async () => {
      const db = await openDb();
      try {
        const tx = db.transaction([STORE], "readwrite");
        await request(tx.objectStore(STORE).put({ timestamp: new Date(), mode: 0o100644, contents: bytes }, `${MOUNT}/${name}`));
      } finally {
        db.close();
      }
      await syncFs(lib, true);
      const index = new lib.HierarchicalNSW("ip", dim, "");
      const maxElements = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
      await index.readIndex(name, maxElements);
      await removeFile(lib, name);
      return new HnswlibIndex(index, dim);
    });
  }

  /** hnswlib's saveIndex() bytes, read back from the Emscripten file system through IndexedDB. */
  async save(): Promise<Uint8Array> {
    const lib = await loadLib();
    const name = `save-${process.pid}-${fileCounter++}.bin`;
    return withShim(async () => {
      this.index.writeIndex(name);
      await waitSynced(lib);
      // writeIndex starts a sync of its own; one more makes sure the file has reached the database.
      await syncFs(lib, false);
      const db = await openDb();
      let contents: Uint8Array;
      try {
        const tx = db.transaction([STORE], "readonly");
        const entry = (await request(tx.objectStore(STORE).get(`${MOUNT}/${name}`))) as { contents?: Uint8Array } | undefined;
        if (!entry?.contents) throw new Error(`hnswlib-wasm: ${name} did not reach its file system's database`);
        contents = new Uint8Array(entry.contents);
      } finally {
        db.close();
      }
      await removeFile(lib, name);
      // Let the library's last sync callback run while its logging is still filtered.
      await new Promise((resolve) => setTimeout(resolve, 5));
      return contents;
    });
  }

  setEf(ef: number): void {
    this.index.setEfSearch(ef);
  }

  /** Top-k rows and cosine scores (1 - distance), best first. */
  search(query: Float32Array, k: number): { rows: Int32Array; scores: Float32Array } {
    const { neighbors, distances } = this.index.searchKnn(query, k, undefined);
    return { rows: Int32Array.from(neighbors), scores: Float32Array.from(distances, (d) => 1 - d) };
  }

  get count(): number {
    return this.index.getCurrentCount();
  }
}

/** Deletes a file from the IndexedDB and, after a pull, from the Emscripten file system (keeps memory flat). */
async function removeFile(lib: HnswlibModule, name: string): Promise<void> {
  const db = await openDb();
  try {
    const tx = db.transaction([STORE], "readwrite");
    await request(tx.objectStore(STORE).delete(`${MOUNT}/${name}`));
  } finally {
    db.close();
  }
  await syncFs(lib, true);
}
