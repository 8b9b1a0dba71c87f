// Micro-batching: forward calls that arrive within a short window share one model call. The server wraps each
// served model's forward in one (src/lvm/load-models-node.ts), so concurrent /v1/next and /v1/generate steps
// run as one batch without the prediction service knowing. Runtime-agnostic.
//
// Exactness: a caller gets exactly the rows an unbatched call would have returned, provided the wrapped forward
// computes each row independently of its batch mates. The CPU engines do, bit for bit (test/lvm/micro-batch.test.ts):
// the core (per-row INT8 activations), onnxruntime f32 and the per-row INT8 graph (ort-node-int8). onnxruntime's
// DynamicQuantizeLinear graph does not (one activation scale per call), which is why the server does not run it.
// WebGPU (measured on an NVIDIA H200 through Vulkan): f32 rows differ from batch-1 rows in the last bit at most
// (<= 3e-8); the f16 Transformer by up to 1.2e-3, f16's own rounding.
//
// Flow: the first call into an empty queue starts a timer of `windowMs`; calls arriving meanwhile join the queue;
// the queue is flushed when the timer fires or as soon as it holds `maxBatch` rows. A flush concatenates the
// queued contexts in arrival order, makes one forward call and hands each caller its own slice of the output. A
// failing call (throw or rejection) rejects every caller in that batch with the same error. A call with bad
// input is rejected alone, before it joins a batch. windowMs 0 disables batching: every call goes straight through.

export type Forward = (contexts: Float32Array, batch: number) => Promise<Float32Array> | Float32Array;

export interface MicroBatchOptions {
  /** How long the first call of a batch waits for others, in ms (0: no batching). */
  windowMs: number;
  /** Most rows in one model call; a full queue flushes at once. A single call with more rows runs alone. */
  maxBatch: number;
  /** Float32 values in one row of the input (context x dim). */
  rowValues: number;
}

/** What a batcher has done, for /healthz and the bench. */
export interface MicroBatchStats {
  /** Forward calls made through the batcher. */
  calls: number;
  /** Model calls it made for them. */
  modelCalls: number;
  /** Rows in the largest model call. */
  largestBatch: number;
}

interface Pending {
  contexts: Float32Array;
  batch: number;
  resolve: (out: Float32Array) => void;
  reject: (error: unknown) => void;
}

export const DEFAULT_WINDOW_MS = 1;
export const DEFAULT_MAX_BATCH = 64;

/** Parses a window in ms (a number >= 0, at most 1000), naming `what` in the error. */
export function parseWindowMs(value: string, what = "batch window"): number {
  const ms = Number(value);
  if (value.trim() === "" || !Number.isFinite(ms) || ms < 0 || ms > 1000)
    throw new Error(`${what} must be a number of milliseconds from 0 to 1000, got '${value}'`);
  return ms;
}

export class MicroBatcher {
  readonly windowMs: number;
  readonly maxBatch: number;
  readonly stats: MicroBatchStats = { calls: 0, modelCalls: 0, largestBatch: 0 };
  private readonly forwardFn: Forward;
  private readonly rowValues: number;
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(forward: Forward, options: MicroBatchOptions) {
    if (!(options.windowMs >= 0) || !Number.isFinite(options.windowMs))
      throw new Error(`micro-batch window must be >= 0 ms, got ${options.windowMs}`);
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)
      throw new Error(`micro-batch max batch must be a positive integer, got ${options.maxBatch}`);
    if (!Number.isInteger(options.rowValues) || options.rowValues < 1)
      throw new Error(`micro-batch row size must be a positive integer, got ${options.rowValues}`);
    this.forwardFn = forward;
    this.windowMs = options.windowMs;
    this.maxBatch = options.maxBatch;
    this.rowValues = options.rowValues;
  }

  /** Same contract as the wrapped forward: contexts [batch, context, dim] -> [batch, dim]. */
  forward(contexts: Float32Array, batch: number): Promise<Float32Array> {
    if (!Number.isInteger(batch) || batch < 1) return Promise.reject(new Error(`batch must be a positive integer, got ${batch}`));
    if (contexts.length !== batch * this.rowValues)
      return Promise.reject(new Error(`contexts hold ${contexts.length} values, expected ${batch} rows of ${this.rowValues}`));
    this.stats.calls++;
    if (this.windowMs === 0 || batch >= this.maxBatch) {
      this.count(batch);
      return call(this.forwardFn, contexts, batch);
    }
    return new Promise<Float32Array>((resolve, reject) => {
      if (this.queuedRows + batch > this.maxBatch) this.flush(); // keep each model call within maxBatch
      this.queue.push({ contexts, batch, resolve, reject });
      this.queuedRows += batch;
      if (this.queuedRows >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /** Runs what is queued now as one model call. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.queue;
    const rows = this.queuedRows;
    this.queue = [];
    this.queuedRows = 0;
    if (group.length === 0) return;
    this.count(rows);
    if (group.length === 1) {
      const only = group[0];
      call(this.forwardFn, only.contexts, only.batch).then(only.resolve, only.reject);
      return;
    }
    const input = new Float32Array(rows * this.rowValues);
    let offset = 0;
    for (const p of group) {
      input.set(p.contexts, offset);
      offset += p.contexts.length;
    }
    call(this.forwardFn, input, rows).then(
      (out) => {
        if (out.length % rows !== 0) {
          const error = new Error(`the model returned ${out.length} values for ${rows} rows`);
          for (const p of group) p.reject(error);
          return;
        }
        const dim = out.length / rows;
        let row = 0;
        for (const p of group) {
          p.resolve(out.slice(row * dim, (row + p.batch) * dim));
          row += p.batch;
        }
      },
      (error) => {
        for (const p of group) p.reject(error);
      },
    );
  }

  private count(rows: number): void {
    this.stats.modelCalls++;
    if (rows > this.stats.largestBatch) this.stats.largestBatch = rows;
  }
}

/** A forward call as a promise, whether it returns, resolves, throws or rejects. */
function call(forward: Forward, contexts: Float32Array, batch: number): Promise<Float32Array> {
  try {
    return Promise.resolve(forward(contexts, batch));
  } catch (error) {
    return Promise.reject(error);
  }
}
