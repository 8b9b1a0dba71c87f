// Training data: the training documents' rows, and one step's batch (contexts, targets, InfoNCE candidates).
import type { Rng } from "../lvm/rng.ts";
import type { ConceptStore } from "../store/concept-store.ts";
import type { TrainOptions } from "./options.ts";

/** The rows of the training documents (sampled negatives) and each row's document bounds [first, end). */
export interface TrainRows {
  rows: Int32Array;
  docFirst: Int32Array;
  docEnd: Int32Array;
}

export function trainRows(store: ConceptStore, trainDocs: number[]): TrainRows {
  const rows = Int32Array.from(
    trainDocs.flatMap((d) => Array.from({ length: store.documents[d].count }, (_, i) => store.documents[d].first + i)),
  );
  const docFirst = new Int32Array(store.count);
  const docEnd = new Int32Array(store.count);
  for (const d of store.documents)
    for (let r = d.first; r < d.first + d.count; r++) [docFirst[r], docEnd[r]] = [d.first, d.first + d.count];
  return { rows, docFirst, docEnd };
}

/**
 * One step's batch, B = targets.length:
 *   steps      context x [B, dim]   the window's vectors, time-major
 *   target     [B, dim]
 *   candidates [dim, C]             InfoNCE candidates (the batch's targets, hard negatives, sampled
 *                                   training concepts; unique rows), null without InfoNCE
 *   labels     [B, C]               1 at each window's target
 *   mask       [B, C]               -1e9 at each window's own context rows
 */
export interface Batch {
  steps: Float32Array[];
  target: Float32Array;
  candidates: Float32Array | null;
  labels: Float32Array | null;
  mask: Float32Array | null;
  C: number;
}

export function buildBatch(
  store: ConceptStore,
  batchTargets: Int32Array,
  context: number,
  options: TrainOptions,
  data: TrainRows,
  rng: Rng,
): Batch {
  const dim = store.dim;
  const V = store.vectors;
  const B = batchTargets.length;
  const steps = Array.from({ length: context }, () => new Float32Array(B * dim));
  const target = new Float32Array(B * dim);
  for (let i = 0; i < B; i++) {
    const t = batchTargets[i];
    for (let c = 0; c < context; c++) steps[c].set(V.subarray((t - context + c) * dim, (t - context + c + 1) * dim), i * dim);
    target.set(V.subarray(t * dim, (t + 1) * dim), i * dim);
  }
  if (options.loss.infonce <= 0) return { steps, target, candidates: null, labels: null, mask: null, C: 0 };
  const column = new Map<number, number>();
  const add = (row: number) => {
    if (!column.has(row)) column.set(row, column.size);
  };
  for (const t of batchTargets) add(t);
  if (options.hardNegatives) {
    for (const t of batchTargets) {
      if (t + 1 < data.docEnd[t]) add(t + 1);
      if (t - context - 1 >= data.docFirst[t]) add(t - context - 1);
    }
  }
  for (let k = 0; k < options.negatives; k++) add(data.rows[rng.int(data.rows.length)]);
  const C = column.size;
  const candidates = new Float32Array(dim * C);
  for (const [row, j] of column) for (let d = 0; d < dim; d++) candidates[d * C + j] = V[row * dim + d];
  const labels = new Float32Array(B * C);
  const mask = new Float32Array(B * C);
  for (let i = 0; i < B; i++) {
    const t = batchTargets[i];
    labels[i * C + (column.get(t) as number)] = 1;
    for (let r = t - context; r < t; r++) {
      const j = column.get(r);
      if (j !== undefined) mask[i * C + j] = -1e9;
    }
  }
  return { steps, target, candidates, labels, mask, C };
}
