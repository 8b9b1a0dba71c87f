/**
 * The HNSW graph file next to a concept store (`<store>/index.hnsw`): its layout, serializeGraph and
 * parseGraph (which validates everything). Runtime-agnostic (bytes in, bytes out): Node, Workers and browsers
 * share it. hnswlib's own bytes: hnswlib-bytes.ts; the 4-bit codes: codes4.ts; the hashes: fingerprint.ts.
 *
 * File layout (little-endian; every section starts on a 16-byte boundary, zero padding between them):
 *
 *   header, 128 bytes
 *     0  magic "LVMHNSW\0"         8 bytes
 *     8  version u32 (1)           12 flags u32 (bit 0: 4-bit codes present)
 *     16 dim u32                   20 count u32 (nodes = store rows; node i is store row i)
 *     24 M u32                     28 maxM0 u32 (level-0 degree bound, 2 M)
 *     32 efConstruction u32        36 maxLevel i32
 *     40 entryPoint u32            44 hnswlib size_t width u32 (4: hnswlib-wasm, 8: native)
 *     48 hnswlib maxElements u32   52 E0 u32 (level-0 links)
 *     56 U u32 (upper lists)       60 E1 u32 (upper-level links)
 *     64 mult f64 (hnswlib's level multiplier, kept for a byte-exact export)
 *     72 store fingerprint u32 (FNV-1a of count, dim and the store's scales.f32: the store it was built for)
 *     76 checksum u32 (FNV-1a over the 32-bit words of everything after the header)
 *     80 file length u32           84..127 zero
 *   levels       u8  [count]        top level of each node (0 = level 0 only)
 *   l0Offsets    u32 [count + 1]    node i's level-0 neighbours are l0Links[l0Offsets[i] .. l0Offsets[i+1])
 *   l0Links      u32 [E0]
 *   upperStart   u32 [count]        node i's list at level l >= 1 is upperLinks[upperOffsets[s + l - 1] ..
 *   upperOffsets u32 [U + 1]          upperOffsets[s + l]) with s = upperStart[i] (0xffffffff for level-0 nodes)
 *   upperLinks   u32 [E1]
 *   codes4       u8  [count x dim/2] (flag bit 0) 4-bit codes for the compact graph walk, see codes4.ts
 *   codeScales   f32 [count]         (flag bit 0) row r ~= codeScales[r] x code values of row r
 *
 * Neighbour lists are in hnswlib's order (its heuristic's selection order), ids are store rows.
 */

import { fnv1a } from "./fingerprint.ts";

export const HNSW_FILE = "index.hnsw";
export const HNSW_MAGIC = "LVMHNSW\0";
export const HNSW_VERSION = 1;
export const HEADER_BYTES = 128;
export const FLAG_CODES4 = 1;
/** upperStart of a node with no upper lists (level 0 only). */
export const NONE = 0xffffffff;

export class IndexFormatError extends Error {
  override name = "IndexFormatError";
}

export interface HnswGraph {
  dim: number;
  count: number;
  M: number;
  maxM0: number;
  efConstruction: number;
  maxLevel: number;
  entryPoint: number;
  mult: number;
  /** hnswlib's size_t width in the bytes this came from (4 for hnswlib-wasm) and its max_elements. */
  sizeT: 4 | 8;
  maxElements: number;
  levels: Uint8Array;
  l0Offsets: Uint32Array;
  l0Links: Uint32Array;
  upperStart: Uint32Array;
  upperOffsets: Uint32Array;
  upperLinks: Uint32Array;
  /** Optional compact walk codes (4-bit, see codes4.ts) and their per-row scales. */
  codes4?: Uint8Array;
  codeScales?: Float32Array;
  /** Fingerprint of the store the graph was built for (storeFingerprint in fingerprint.ts). */
  storeFingerprint: number;
}

const pad16 = (n: number) => (n + 15) & ~15;

function sections(g: { count: number; dim: number; flags: number; e0: number; u: number; e1: number }) {
  const list: [string, number][] = [
    ["levels", g.count],
    ["l0Offsets", 4 * (g.count + 1)],
    ["l0Links", 4 * g.e0],
    ["upperStart", 4 * g.count],
    ["upperOffsets", 4 * (g.u + 1)],
    ["upperLinks", 4 * g.e1],
  ];
  if (g.flags & FLAG_CODES4) list.push(["codes4", (g.count * g.dim) / 2], ["codeScales", 4 * g.count]);
  const at: Record<string, { offset: number; bytes: number }> = {};
  let p = HEADER_BYTES;
  for (const [name, bytes] of list) {
    at[name] = { offset: p, bytes };
    p = pad16(p + bytes);
  }
  return { at, total: p };
}

export function serializeGraph(g: HnswGraph): Uint8Array {
  const flags = g.codes4 ? FLAG_CODES4 : 0;
  const u = g.upperOffsets.length - 1;
  const { at, total } = sections({ count: g.count, dim: g.dim, flags, e0: g.l0Links.length, u, e1: g.upperLinks.length });
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = HNSW_MAGIC.charCodeAt(i);
  const u32 = (o: number, v: number) => view.setUint32(o, v, true);
  u32(8, HNSW_VERSION);
  u32(12, flags);
  u32(16, g.dim);
  u32(20, g.count);
  u32(24, g.M);
  u32(28, g.maxM0);
  u32(32, g.efConstruction);
  view.setInt32(36, g.maxLevel, true);
  u32(40, g.entryPoint);
  u32(44, g.sizeT);
  u32(48, g.maxElements);
  u32(52, g.l0Links.length);
  u32(56, u);
  u32(60, g.upperLinks.length);
  view.setFloat64(64, g.mult, true);
  u32(72, g.storeFingerprint);
  u32(80, total);
  const put = (name: string, data: ArrayBufferView) =>
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at[name].offset);
  put("levels", g.levels);
  put("l0Offsets", g.l0Offsets);
  put("l0Links", g.l0Links);
  put("upperStart", g.upperStart);
  put("upperOffsets", g.upperOffsets);
  put("upperLinks", g.upperLinks);
  if (g.codes4 && g.codeScales) {
    put("codes4", g.codes4);
    put("codeScales", g.codeScales);
  }
  u32(76, fnv1a(out.subarray(HEADER_BYTES)));
  return out;
}

export interface ExpectedStore {
  count: number;
  dim: number;
  fingerprint: number;
}

/**
 * Parses and fully validates an index file (magic, version, lengths, checksum, every offset and link in
 * range), so the core never walks outside its arrays. `expected` (the loaded store) must match: a graph of
 * another store would answer with wrong rows. Arrays are views into `bytes` (copy-free) when aligned.
 */
export function parseGraph(bytes: Uint8Array, expected?: ExpectedStore): HnswGraph {
  const fail = (why: string): never => {
    throw new IndexFormatError(`${HNSW_FILE}: ${why}`);
  };
  if (bytes.length < HEADER_BYTES) fail(`truncated: ${bytes.length} bytes, the header alone is ${HEADER_BYTES}`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== HNSW_MAGIC.charCodeAt(i)) fail("not an lvm-edge HNSW index (bad magic)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (o: number) => view.getUint32(o, true);
  if (u32(8) !== HNSW_VERSION) fail(`version ${u32(8)} is not supported (expected ${HNSW_VERSION})`);
  const flags = u32(12);
  const dim = u32(16);
  const count = u32(20);
  const length = u32(80);
  if (length !== bytes.length) fail(`truncated or padded: ${bytes.length} bytes, the header says ${length}`);
  if (expected && dim !== expected.dim) fail(`built for dim ${dim}, the store has dim ${expected.dim}`);
  if (expected && count !== expected.count)
    fail(`built for ${count} rows, the store has ${expected.count}: rebuild it with 'lvm index build'`);
  const fingerprint = u32(72);
  if (expected && fingerprint !== expected.fingerprint)
    fail("built for another store (its vectors differ from this store's): rebuild it with 'lvm index build'");
  const e0 = u32(52);
  const u = u32(56);
  const e1 = u32(60);
  const { at, total } = sections({ count, dim, flags, e0, u, e1 });
  if (total !== bytes.length) fail(`section lengths (${total} bytes) do not match the file (${bytes.length} bytes)`);
  if (fnv1a(bytes.subarray(HEADER_BYTES)) !== u32(76)) fail("checksum mismatch: the file is corrupt");
  const arr = <T>(name: string, make: (b: ArrayBuffer, o: number, n: number) => T, size: number): T => {
    const { offset, bytes: n } = at[name];
    const abs = bytes.byteOffset + offset;
    if (abs % size === 0) return make(bytes.buffer as ArrayBuffer, abs, n / size);
    return make(bytes.slice(offset, offset + n).buffer, 0, n / size);
  };
  const g: HnswGraph = {
    dim,
    count,
    M: u32(24),
    maxM0: u32(28),
    efConstruction: u32(32),
    maxLevel: view.getInt32(36, true),
    entryPoint: u32(40),
    sizeT: u32(44) === 8 ? 8 : 4,
    maxElements: u32(48),
    mult: view.getFloat64(64, true),
    storeFingerprint: fingerprint,
    levels: arr("levels", (b, o, n) => new Uint8Array(b, o, n), 1),
    l0Offsets: arr("l0Offsets", (b, o, n) => new Uint32Array(b, o, n), 4),
    l0Links: arr("l0Links", (b, o, n) => new Uint32Array(b, o, n), 4),
    upperStart: arr("upperStart", (b, o, n) => new Uint32Array(b, o, n), 4),
    upperOffsets: arr("upperOffsets", (b, o, n) => new Uint32Array(b, o, n), 4),
    upperLinks: arr("upperLinks", (b, o, n) => new Uint32Array(b, o, n), 4),
  };
  if (flags & FLAG_CODES4) {
    g.codes4 = arr("codes4", (b, o, n) => new Uint8Array(b, o, n), 1);
    g.codeScales = arr("codeScales", (b, o, n) => new Float32Array(b, o, n), 4);
  }
  validateGraph(g, fail);
  return g;
}

function validateGraph(g: HnswGraph, fail: (why: string) => never): void {
  const { count } = g;
  if (count > 0 && g.entryPoint >= count) fail(`entry point ${g.entryPoint} is outside 0..${count - 1}`);
  if (g.maxLevel < 0 || g.maxLevel > 255 || (count > 0 && g.levels[g.entryPoint] !== g.maxLevel))
    fail("entry point's level does not match the graph's top level");
  if (g.l0Offsets[0] !== 0 || g.l0Offsets[count] !== g.l0Links.length) fail("level-0 offsets do not span the links");
  for (let i = 0; i < count; i++) {
    const n = g.l0Offsets[i + 1] - g.l0Offsets[i];
    if (g.l0Offsets[i + 1] < g.l0Offsets[i] || n > g.maxM0) fail(`level-0 list of node ${i} is malformed`);
  }
  for (let i = 0; i < g.l0Links.length; i++) if (g.l0Links[i] >= count) fail(`link ${g.l0Links[i]} is outside 0..${count - 1}`);
  const u = g.upperOffsets.length - 1;
  let expectedStart = 0;
  for (let i = 0; i < count; i++) {
    const level = g.levels[i];
    if (level > g.maxLevel) fail(`node ${i} has level ${level} above the top level ${g.maxLevel}`);
    if (level === 0) {
      if (g.upperStart[i] !== NONE) fail(`node ${i} has upper lists but level 0`);
      continue;
    }
    if (g.upperStart[i] !== expectedStart) fail(`upper lists of node ${i} are out of place`);
    expectedStart += level;
  }
  if (expectedStart !== u) fail("upper list count does not match the node levels");
  if (g.upperOffsets[0] !== 0 || g.upperOffsets[u] !== g.upperLinks.length) fail("upper offsets do not span the links");
  for (let s = 0; s < u; s++) {
    if (g.upperOffsets[s + 1] < g.upperOffsets[s] || g.upperOffsets[s + 1] - g.upperOffsets[s] > g.M) fail("an upper list is malformed");
  }
  // A level-l list may only name nodes that reach level l: the search reads their level-l list next.
  for (let i = 0; i < count; i++) {
    for (let l = 1; l <= g.levels[i]; l++) {
      const s = g.upperStart[i] + l - 1;
      for (let j = g.upperOffsets[s]; j < g.upperOffsets[s + 1]; j++) {
        const t = g.upperLinks[j];
        if (t >= count || g.levels[t] < l) fail(`level-${l} link ${t} of node ${i} is outside the level`);
      }
    }
  }
}
