/**
 * The HNSW graph next to a concept store (`<store>/index.hnsw`), and the conversion from and to hnswlib's own
 * saved-index bytes. Runtime-agnostic (bytes in, bytes out): Node, Workers and browsers share it.
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
 *   codes4       u8  [count x dim/2] (flag bit 0) 4-bit codes for the compact graph walk, see packCodes4
 *   codeScales   f32 [count]         (flag bit 0) row r ~= codeScales[r] x code values of row r
 *
 * Neighbour lists are in hnswlib's order (its heuristic's selection order), ids are store rows.
 */

export const HNSW_FILE = "index.hnsw";
export const HNSW_MAGIC = "LVMHNSW\0";
export const HNSW_VERSION = 1;
export const HEADER_BYTES = 128;
export const FLAG_CODES4 = 1;
const NONE = 0xffffffff;

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
  /** Optional compact walk codes (4-bit, see packCodes4) and their per-row scales. */
  codes4?: Uint8Array;
  codeScales?: Float32Array;
  /** Fingerprint of the store the graph was built for (storeFingerprint). */
  storeFingerprint: number;
}

// ---------------------------------------------------------------- hashing

/** FNV-1a over 32-bit words (a tail of 1-3 bytes is folded in byte by byte). */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  const words = bytes.length >>> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words; i++) h = Math.imul(h ^ view.getUint32(i * 4, true), 0x01000193) >>> 0;
  for (let i = words * 4; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h >>> 0;
}

/** Identifies a store's vectors cheaply: count, dim and every row's quantisation scale. */
export function storeFingerprint(count: number, dim: number, scales: Float32Array): number {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, count, true);
  new DataView(head.buffer).setUint32(4, dim, true);
  return fnv1a(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength), fnv1a(head));
}

// ---------------------------------------------------------------- 4-bit codes

/**
 * 4-bit symmetric codes per row: value = round(x / scale) in [-7, 7], stored + 8 in a nibble. Within each
 * 32-value block, byte i holds value i in its low nibble and value 16 + i in its high nibble (so the core
 * unpacks 16 values with one AND and one shift). The scale clips at 3.5 standard deviations of the row
 * (fewer levels wasted on rare outliers; measured better recall than max/7). dim must be a multiple of 32.
 */
export function packCodes4(vectors: Float32Array, dim: number): { codes: Uint8Array; scales: Float32Array } {
  if (dim % 32 !== 0) throw new Error(`4-bit codes need dim to be a multiple of 32; got ${dim}`);
  const count = vectors.length / dim;
  const codes = new Uint8Array((count * dim) / 2);
  const scales = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    const base = r * dim;
    let max = 0;
    let sq = 0;
    for (let j = 0; j < dim; j++) {
      const v = vectors[base + j];
      max = Math.max(max, Math.abs(v));
      sq += v * v;
    }
    const clip = Math.min(max, 3.5 * Math.sqrt(sq / dim));
    const scale = clip > 0 ? clip / 7 : 1;
    scales[r] = scale;
    const out = (r * dim) / 2;
    for (let b = 0; b < dim; b += 32) {
      for (let i = 0; i < 16; i++) {
        const lo = Math.max(-7, Math.min(7, Math.round(vectors[base + b + i] / scale))) + 8;
        const hi = Math.max(-7, Math.min(7, Math.round(vectors[base + b + 16 + i] / scale))) + 8;
        codes[out + b / 2 + i] = lo | (hi << 4);
      }
    }
  }
  return { codes, scales };
}

/** The values of row r's 4-bit codes (x scale gives the approximate vector); the tests' reference. */
export function unpackCodes4(codes: Uint8Array, dim: number, row: number): Int8Array {
  const out = new Int8Array(dim);
  const base = (row * dim) / 2;
  for (let b = 0; b < dim; b += 32) {
    for (let i = 0; i < 16; i++) {
      const byte = codes[base + b / 2 + i];
      out[b + i] = (byte & 15) - 8;
      out[b + 16 + i] = (byte >> 4) - 8;
    }
  }
  return out;
}

// ---------------------------------------------------------------- hnswlib bytes

/**
 * Parses hnswlib's saveIndex() bytes (HierarchicalNSW::saveIndex: a header of size_t fields, the level-0
 * block of cur_element_count x size_data_per_element bytes — link count, maxM0 links, the float vector,
 * the label — then per element a u32 byte length and its upper-level link lists). size_t is 4 bytes in
 * hnswlib-wasm (wasm32) and 8 in native builds: the width is detected from the header's consistency.
 * Labels must be 0..count-1 (store rows), each once; links are rewritten from internal ids to labels.
 */
export function fromHnswlib(bytes: Uint8Array, dim: number): HnswGraph {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tryWidth = (w: 4 | 8) => {
    const headerBytes = 6 * w + 4 + 4 + 3 * w + 8 + w;
    if (bytes.length < headerBytes) return undefined;
    let p = 0;
    const st = () => {
      const v = w === 4 ? view.getUint32(p, true) : Number(view.getBigUint64(p, true));
      p += w;
      return v;
    };
    const h = {
      offsetLevel0: st(),
      maxElements: st(),
      count: st(),
      sizeDataPerElement: st(),
      labelOffset: st(),
      offsetData: st(),
      maxLevel: 0,
      entryPoint: 0,
      maxM: 0,
      maxM0: 0,
      M: 0,
      mult: 0,
      efConstruction: 0,
      headerBytes,
    };
    h.maxLevel = view.getInt32(p, true);
    p += 4;
    h.entryPoint = view.getUint32(p, true);
    p += 4;
    h.maxM = st();
    h.maxM0 = st();
    h.M = st();
    h.mult = view.getFloat64(p, true);
    p += 8;
    h.efConstruction = st();
    const ok =
      h.offsetLevel0 === 0 &&
      h.offsetData === 4 + 4 * h.maxM0 &&
      h.labelOffset === h.offsetData + 4 * dim &&
      h.sizeDataPerElement === h.labelOffset + w &&
      h.count <= h.maxElements;
    return ok ? h : undefined;
  };
  const h = tryWidth(4) ?? tryWidth(8);
  if (!h) throw new IndexFormatError(`not an hnswlib index of dim ${dim} (header fields inconsistent)`);
  const w: 4 | 8 = h.sizeDataPerElement === h.labelOffset + 4 ? 4 : 8;
  const count = h.count;
  const level0Bytes = count * h.sizeDataPerElement;
  if (bytes.length < h.headerBytes + level0Bytes) throw new IndexFormatError("hnswlib index is truncated (level 0)");
  const l0 = h.headerBytes;
  const labelOf = new Uint32Array(count);
  const internalOf = new Uint32Array(count).fill(NONE);
  for (let i = 0; i < count; i++) {
    const at = l0 + i * h.sizeDataPerElement + h.labelOffset;
    const label = w === 4 ? view.getUint32(at, true) : Number(view.getBigUint64(at, true));
    if (label >= count || internalOf[label] !== NONE)
      throw new IndexFormatError(`hnswlib labels must be the rows 0..${count - 1}, each once (label ${label})`);
    labelOf[i] = label;
    internalOf[label] = i;
  }
  const levels = new Uint8Array(count);
  const l0Offsets = new Uint32Array(count + 1);
  for (let r = 0; r < count; r++) {
    const at = l0 + internalOf[r] * h.sizeDataPerElement;
    l0Offsets[r + 1] = l0Offsets[r] + (view.getUint32(at, true) & 0xffff);
  }
  const l0Links = new Uint32Array(l0Offsets[count]);
  for (let r = 0; r < count; r++) {
    const at = l0 + internalOf[r] * h.sizeDataPerElement;
    const n = l0Offsets[r + 1] - l0Offsets[r];
    for (let j = 0; j < n; j++) l0Links[l0Offsets[r] + j] = labelOf[view.getUint32(at + 4 + 4 * j, true)];
  }
  // Upper levels, in internal order in the file.
  const sizeLinks = 4 + 4 * h.maxM;
  const upperAt = new Uint32Array(count);
  let p = l0 + level0Bytes;
  let upperLists = 0;
  for (let i = 0; i < count; i++) {
    if (p + 4 > bytes.length) throw new IndexFormatError("hnswlib index is truncated (upper levels)");
    const size = view.getUint32(p, true);
    p += 4;
    if (size % sizeLinks !== 0) throw new IndexFormatError(`hnswlib index: element ${i} has ${size} link bytes`);
    upperAt[i] = p;
    levels[labelOf[i]] = size / sizeLinks;
    upperLists += size / sizeLinks;
    p += size;
    if (p > bytes.length) throw new IndexFormatError("hnswlib index is truncated (upper levels)");
  }
  const upperStart = new Uint32Array(count).fill(NONE);
  const upperOffsets = new Uint32Array(upperLists + 1);
  const links: number[] = [];
  let s = 0;
  for (let r = 0; r < count; r++) {
    if (levels[r] === 0) continue;
    upperStart[r] = s;
    for (let l = 1; l <= levels[r]; l++) {
      const at = upperAt[internalOf[r]] + (l - 1) * sizeLinks;
      const n = view.getUint32(at, true) & 0xffff;
      for (let j = 0; j < n; j++) links.push(labelOf[view.getUint32(at + 4 + 4 * j, true)]);
      upperOffsets[++s] = links.length;
    }
  }
  return {
    dim,
    count,
    M: h.M,
    maxM0: h.maxM0,
    efConstruction: h.efConstruction,
    maxLevel: h.maxLevel,
    entryPoint: count > 0 ? labelOf[h.entryPoint] : 0,
    mult: h.mult,
    sizeT: w,
    maxElements: h.maxElements,
    levels,
    l0Offsets,
    l0Links,
    upperStart,
    upperOffsets,
    upperLinks: Uint32Array.from(links),
    storeFingerprint: 0,
  };
}

/**
 * hnswlib saveIndex() bytes for a graph and its float vectors (count x dim, row = label = internal id):
 * what hnswlib-wasm's readIndex loads. For a graph converted from an index built in row order, the bytes are
 * identical to hnswlib's own.
 */
export function toHnswlib(g: HnswGraph, vectors: Float32Array): Uint8Array {
  const w = g.sizeT;
  const maxM = g.M;
  const offsetData = 4 + 4 * g.maxM0;
  const labelOffset = offsetData + 4 * g.dim;
  const sizeData = labelOffset + w;
  const sizeLinks = 4 + 4 * maxM;
  const headerBytes = 6 * w + 4 + 4 + 3 * w + 8 + w;
  let upperBytes = 0;
  for (let r = 0; r < g.count; r++) upperBytes += 4 + g.levels[r] * sizeLinks;
  const out = new Uint8Array(headerBytes + g.count * sizeData + upperBytes);
  const view = new DataView(out.buffer);
  let p = 0;
  const st = (v: number) => {
    if (w === 4) view.setUint32(p, v, true);
    else view.setBigUint64(p, BigInt(v), true);
    p += w;
  };
  st(0);
  st(g.maxElements);
  st(g.count);
  st(sizeData);
  st(labelOffset);
  st(offsetData);
  view.setInt32(p, g.maxLevel, true);
  p += 4;
  view.setUint32(p, g.entryPoint, true);
  p += 4;
  st(maxM);
  st(g.maxM0);
  st(g.M);
  view.setFloat64(p, g.mult, true);
  p += 8;
  st(g.efConstruction);
  const bytesOut = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  for (let r = 0; r < g.count; r++) {
    const at = headerBytes + r * sizeData;
    const n = g.l0Offsets[r + 1] - g.l0Offsets[r];
    view.setUint32(at, n, true);
    for (let j = 0; j < n; j++) view.setUint32(at + 4 + 4 * j, g.l0Links[g.l0Offsets[r] + j], true);
    out.set(bytesOut.subarray(r * g.dim * 4, (r + 1) * g.dim * 4), at + offsetData);
    if (w === 4) view.setUint32(at + labelOffset, r, true);
    else view.setBigUint64(at + labelOffset, BigInt(r), true);
  }
  p = headerBytes + g.count * sizeData;
  for (let r = 0; r < g.count; r++) {
    view.setUint32(p, g.levels[r] * sizeLinks, true);
    p += 4;
    for (let l = 1; l <= g.levels[r]; l++) {
      const s = g.upperStart[r] + l - 1;
      const from = g.upperOffsets[s];
      const n = g.upperOffsets[s + 1] - from;
      view.setUint32(p, n, true);
      for (let j = 0; j < n; j++) view.setUint32(p + 4 + 4 * j, g.upperLinks[from + j], true);
      p += sizeLinks;
    }
  }
  return out;
}

// ---------------------------------------------------------------- our file

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
