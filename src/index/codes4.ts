// 4-bit walk codes for the compact HNSW graph walk (stored in index.hnsw when flag bit 0 is set).

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
