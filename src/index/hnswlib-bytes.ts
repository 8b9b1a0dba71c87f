// Conversion between hnswlib's saveIndex() bytes and our HnswGraph (both directions, byte-exact).
import { type HnswGraph, IndexFormatError, NONE } from "./hnsw-format.ts";

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
