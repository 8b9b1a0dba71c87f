// FNV-1a hashing: the index file's checksum and the fingerprint that ties an index to the store it was built for.

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
