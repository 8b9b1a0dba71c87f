/**
 * `<store>/hubness-<neighbours>.f32`: a store's hubness values (src/index/hubness.ts) cached beside it. They cost
 * count^2 * dim multiply-adds (~45 s for dev1k's 41,623 rows on the core, 0.2 s for the demo store), so the
 * server reads them back on the next start instead. A derived file: deleting it only costs the recomputation.
 *
 * Byte layout (little-endian):
 *   0   u8[8]       magic "LVMHUB01"
 *   8   u32         count        rows of the store the values were computed for
 *   12  u32         neighbours   neighbours averaged per row
 *   16  u32         fingerprint  storeFingerprint(count, dim, scales) of that store (src/index/fingerprint.ts)
 *   20  u32         reserved, 0
 *   24  f32[count]  values
 * Checked on load: a file that does not fit the store (another store, one that grew, a truncated or foreign
 * file) is recomputed and replaced; a store directory that cannot be written only keeps the values in memory.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic-write-node.ts";
import { storeFingerprint } from "./fingerprint.ts";
import { type BatchSearcher, HUBNESS_NEIGHBOURS, hubnessForStore, type StoreHubness, storeHubness } from "./hubness.ts";

const MAGIC = "LVMHUB01";
const HEADER = 24;

export function hubnessPath(storeDir: string, neighbours = HUBNESS_NEIGHBOURS): string {
  return join(storeDir, `hubness-${neighbours}.f32`);
}

type StoreShape = { count: number; dim: number; vectors: Float32Array; scales: Float32Array };

export function encodeHubness(store: StoreShape, hubness: StoreHubness): Uint8Array {
  const bytes = new Uint8Array(HEADER + 4 * store.count);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, store.count, true);
  view.setUint32(12, hubness.neighbours, true);
  view.setUint32(16, storeFingerprint(store.count, store.dim, store.scales), true);
  new Float32Array(bytes.buffer, HEADER, store.count).set(hubness.values);
  return bytes;
}

/** The values in `bytes` if they were computed for this store with `neighbours`; else why not. */
export function decodeHubness(bytes: Uint8Array, store: StoreShape, neighbours: number): StoreHubness | string {
  if (bytes.length < HEADER || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    return `not a hubness file (expected magic ${MAGIC})`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  if (count !== store.count) return `computed for ${count} rows, the store has ${store.count}`;
  if (view.getUint32(12, true) !== neighbours) return `computed with ${view.getUint32(12, true)} neighbours, ${neighbours} wanted`;
  if (view.getUint32(16, true) !== storeFingerprint(store.count, store.dim, store.scales))
    return "computed for another store (fingerprint differs)";
  if (bytes.length !== HEADER + 4 * count) return `${bytes.length} bytes, expected ${HEADER + 4 * count}`;
  const values = new Float32Array(count);
  new Uint8Array(values.buffer).set(bytes.subarray(HEADER));
  return storeHubness(values, neighbours);
}

/** The store's values from its cache file when it fits, else computed (on `index` when given) and written back. */
export async function loadOrComputeHubness(
  storeDir: string,
  store: StoreShape,
  index?: BatchSearcher,
  log: (message: string) => void = console.warn,
): Promise<StoreHubness & { source: "file" | "computed" }> {
  const path = hubnessPath(storeDir);
  const bytes = await readFile(path).catch(() => undefined);
  const decoded = bytes ? decodeHubness(bytes, store, HUBNESS_NEIGHBOURS) : "missing";
  if (typeof decoded !== "string") return { ...decoded, source: "file" };
  const started = performance.now();
  const hubness = hubnessForStore(store, index);
  const seconds = (performance.now() - started) / 1000;
  if (bytes) log(`${path}: recomputed (${decoded})`);
  if (seconds > 1) log(`hubness of ${store.count} concepts computed in ${seconds.toFixed(1)} s; cached in ${path}`);
  await writeFileAtomic(path, encodeHubness(store, hubness)).catch((error: Error) =>
    log(`${path}: not written (${error.message}); the values stay in memory`),
  );
  return { ...hubness, source: "computed" };
}
