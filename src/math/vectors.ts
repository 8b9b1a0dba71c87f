// Row-vector arithmetic shared by every stage (the single definition of dot and row normalisation).

/** a . b over the first a.length values. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * L2-normalises `rows` ([n, dim], row-major) in place and returns it. A zero row stays zero; with
 * `describeRow`, a zero or non-finite row is an error naming it instead (data we store must be unit rows).
 */
export function normalizeRows(rows: Float32Array, dim: number, describeRow?: (row: number) => string): Float32Array {
  const n = rows.length / dim;
  for (let r = 0; r < n; r++) {
    const base = r * dim;
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += rows[base + j] * rows[base + j];
    if (describeRow && (!Number.isFinite(sum) || sum === 0)) {
      throw new Error(`${describeRow(r)}: vector is ${Number.isFinite(sum) ? "all zeros" : "not finite (NaN or Infinity)"}`);
    }
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let j = 0; j < dim; j++) rows[base + j] *= inv;
  }
  return rows;
}
