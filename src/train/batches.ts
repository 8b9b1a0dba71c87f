// Training data: the training documents' rows, and one step's batch (contexts, targets, InfoNCE candidates).
import type { Rng } from "../lvm/rng.ts";
import type { TrainOptions } from "./options.ts";
import type { TrainingSource } from "./training-source.ts";

/** The rows of the training documents (sampled negatives) and each row's document bounds [first, end). */
export interface TrainRows {
  rows: Int32Array;
  docFirst: Int32Array;
  docEnd: Int32Array;
}

export function trainRows(store: TrainingSource, trainDocs: number[]): TrainRows {
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
 *   candidates [dim, C]             InfoNCE candidates (the batch's targets, hard negatives, article
 *                                   negatives, sampled training concepts, then the queue's rows not already among them;
 *                                   unique rows), null without InfoNCE
 *   labels     [B, C]               1 at each window's target
 *   mask       [B, C]               -1e9 at each window's own context rows, and at the queue-only
 *                                   columns from the window's own article
 *   rows       [C]                  the store row of each candidate column
 */
export interface Batch {
  steps: Float32Array[];
  target: Float32Array;
  candidates: Float32Array | null;
  labels: Float32Array | null;
  mask: Float32Array | null;
  rows: Int32Array | null;
  C: number;
}

/**
 * A memory bank of the targets of recent steps (store rows, newest last), added to a step's InfoNCE candidates
 * as extra negatives: the candidates are fixed store vectors, so the rows are the vectors. Capacity 0 = off.
 */
export class NegativeQueue {
  readonly capacity: number;
  private readonly ring: Int32Array;
  private next = 0;
  private size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ring = new Int32Array(capacity);
  }

  /** Adds a step's targets, dropping the oldest rows beyond the capacity. */
  push(rows: ArrayLike<number>): void {
    if (this.capacity === 0) return;
    for (let i = 0; i < rows.length; i++) {
      this.ring[this.next] = rows[i];
      this.next = (this.next + 1) % this.capacity;
      this.size = Math.min(this.capacity, this.size + 1);
    }
  }

  /** The rows held, oldest first. */
  rows(): Int32Array {
    if (this.size < this.capacity) return this.ring.slice(0, this.size);
    return Int32Array.from({ length: this.size }, (_, i) => this.ring[(this.next + i) % this.capacity]);
  }
}

export function buildBatch(
  store: TrainingSource,
  batchTargets: Int32Array,
  context: number,
  options: TrainOptions,
  data: TrainRows,
  rng: Rng,
  queue?: NegativeQueue,
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
  if (options.loss.infonce <= 0) return { steps, target, candidates: null, labels: null, mask: null, rows: null, C: 0 };
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
  // Article negatives: other concepts of each window's own article. Most of what outranks the true next
  // concept on validation comes from its own article (63% of the top 5 when it misses, for the first
  // gru-edge), and uniform samples rarely hold any of them, least of all from a large training set.
  const perWindow = options.articleNegatives ?? 0;
  if (perWindow > 0) {
    for (const t of batchTargets) {
      const [first, end] = [data.docFirst[t], data.docEnd[t]];
      // Rows of the article outside the window (its context t-context..t-1 and its target t).
      const outside = end - first - (context + 1);
      for (let k = 0; k < Math.min(perWindow, outside); k++) {
        let r = first + rng.int(outside);
        if (r >= t - context) r += context + 1;
        add(r);
      }
    }
  }
  for (let k = 0; k < options.negatives; k++) add(data.rows[rng.int(data.rows.length)]);
  // Columns from here on come only from the queue: a window's own article is masked out of them (its
  // neighbours there are already the hard negatives; older rows of the article would be near-duplicates).
  const queueFrom = column.size;
  if (queue) for (const row of queue.rows()) add(row);
  const C = column.size;
  const rows = new Int32Array(C);
  for (const [row, j] of column) rows[j] = row;
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
    for (let j = queueFrom; j < C; j++) if (data.docFirst[rows[j]] === data.docFirst[t]) mask[i * C + j] = -1e9;
  }
  return { steps, target, candidates, labels, mask, rows, C };
}
