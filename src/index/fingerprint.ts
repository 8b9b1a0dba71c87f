// The fingerprint that ties an index to the store it was built for (FNV-1a, src/math/fnv1a.ts).
import { fnv1a } from "../math/fnv1a.ts";

export { fnv1a };

/** Identifies a store's vectors cheaply: count, dim and every row's quantisation scale. */
export function storeFingerprint(count: number, dim: number, scales: Float32Array): number {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, count, true);
  new DataView(head.buffer).setUint32(4, dim, true);
  return fnv1a(new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength), fnv1a(head));
}
