export interface SearchHits {
  /** Row indices, best first. */
  rows: Int32Array;
  /** Cosine similarities (dot products of unit vectors), best first. */
  scores: Float32Array;
  /** With a hubness penalty (src/index/hubness.ts): the penalised scores the rows are ordered by. */
  rankScores?: Float32Array;
}

/**
 * Exact top-k by dot product over unit-length rows: the plain TypeScript reference every faster search is
 * tested against. vectors: count x dim (row-major), query: dim. Rows in `exclude` are never returned.
 * Ties keep the lower row first.
 */
export function exactSearch(vectors: Float32Array, dim: number, query: Float32Array, k: number, exclude?: ReadonlySet<number>): SearchHits {
  const count = vectors.length / dim;
  const size = Math.min(k, count - (exclude?.size ?? 0));
  // A min-heap of the best `size` hits so far: heap[0] is the worst of them.
  const heapRows = new Int32Array(Math.max(size, 0));
  const heapScores = new Float32Array(Math.max(size, 0));
  let filled = 0;
  const worse = (i: number, j: number) => heapScores[i] < heapScores[j] || (heapScores[i] === heapScores[j] && heapRows[i] > heapRows[j]);
  const swap = (i: number, j: number) => {
    const r = heapRows[i];
    heapRows[i] = heapRows[j];
    heapRows[j] = r;
    const s = heapScores[i];
    heapScores[i] = heapScores[j];
    heapScores[j] = s;
  };
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < filled && worse(l, m)) m = l;
      if (r < filled && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let row = 0; row < count && size > 0; row++) {
    if (exclude?.has(row)) continue;
    let score = 0;
    const base = row * dim;
    for (let j = 0; j < dim; j++) score += vectors[base + j] * query[j];
    if (filled < size) {
      heapRows[filled] = row;
      heapScores[filled] = score;
      let i = filled++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(i, parent)) break;
        swap(i, parent);
        i = parent;
      }
    } else if (score > heapScores[0]) {
      heapRows[0] = row;
      heapScores[0] = score;
      siftDown(0);
    }
  }
  const order = Array.from({ length: filled }, (_, i) => i).sort((a, b) => heapScores[b] - heapScores[a] || heapRows[a] - heapRows[b]);
  return { rows: Int32Array.from(order, (i) => heapRows[i]), scores: Float32Array.from(order, (i) => heapScores[i]) };
}
