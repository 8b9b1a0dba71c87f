/**
 * Symmetric per-row INT8: q = round(v / scale), scale = max|v| / 127, so v ~= q * scale.
 * rows: n x dim float32 (row-major). Returns the codes and one scale per row.
 */
export function quantizeRows(rows: Float32Array, dim: number): { codes: Int8Array; scales: Float32Array } {
  const n = rows.length / dim;
  const codes = new Int8Array(rows.length);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * dim;
    let maxAbs = 0;
    for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(rows[base + j]));
    const scale = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[r] = scale;
    for (let j = 0; j < dim; j++) codes[base + j] = Math.round(rows[base + j] / scale);
  }
  return { codes, scales };
}
