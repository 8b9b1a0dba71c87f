// Node: a VectorDecoder on N worker threads (decode-worker-node.ts), each with its own decoder and encoder. A decode
// takes ~150 ms of CPU (docs/decoder.md); on the server's own thread it held every other request for that long.
// Requests go to the first idle worker in the order they come; input is checked here first, so a malformed vector
// is refused by name without a round trip. A worker that dies fails the pool: its callers get the reason, and so
// does every later call (the server answers with it rather than hang).
import type { Worker } from "node:worker_threads";
import { openWorkers, type ReadyMessage } from "../workers/open-workers-node.ts";
import type { DecoderPrecision } from "./core-decoder.ts";
import { type DecodedText, DecoderInputError, type RefineOptions } from "./refine.ts";
import { checkDecodeInput, type VectorDecoder } from "./vector-decoder.ts";

interface Job {
  id: number;
  vectors: Float32Array;
  count: number;
  options?: RefineOptions;
  resolve(decoded: DecodedText[]): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

interface Ready extends ReadyMessage {
  dim: number;
  encoderId: string;
  weightBytes: number;
}

export interface DecodePoolOptions {
  threads: number;
  precision?: DecoderPrecision;
  /** The re-embedding encoder's registry id (each worker loads its own); default: the core INT8 USE-lite. */
  encoder?: string;
}

export class DecodePool implements VectorDecoder {
  readonly dim: number;
  readonly encoderId: string;
  /** One worker's decoder weights (each holds its own copy). */
  readonly weightBytes: number;
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private failed?: Error;
  private closed = false;

  private constructor(ready: Ready, slots: Slot[]) {
    this.dim = ready.dim;
    this.encoderId = ready.encoderId;
    this.weightBytes = ready.weightBytes;
    this.slots = slots;
    for (const slot of slots) {
      slot.worker.on("message", (message: { id: number; decoded?: DecodedText[]; error?: string; input?: boolean }) => {
        const job = slot.job;
        if (!job || message.id !== job.id) return;
        slot.job = undefined;
        if (message.decoded) job.resolve(message.decoded);
        else job.reject(message.input ? new DecoderInputError(message.error ?? "") : new Error(message.error));
        this.dispatch();
      });
      const lost = (error: Error) => this.fail(error);
      slot.worker.on("error", lost);
      slot.worker.on("exit", (code) => {
        if (!this.closed) lost(new Error(`a decoding worker thread exited (code ${code})`));
      });
    }
  }

  /** Starts the workers and waits until each has loaded the decoder in `dir` (a load error rejects, naming it). */
  static async open(dir: string, options: DecodePoolOptions): Promise<DecodePool> {
    const { workers, readies } = await openWorkers<Ready>(
      new URL("./decode-worker-node.ts", import.meta.url),
      options.threads,
      { dir, precision: options.precision, encoder: options.encoder },
      "a decoding worker thread",
    );
    return new DecodePool(
      readies[0],
      workers.map((worker) => ({ worker })),
    );
  }

  get threads(): number {
    return this.slots.length;
  }

  decode(vectors: Float32Array, count: number, options?: RefineOptions): Promise<DecodedText[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error("the decoding pool is closed"));
    try {
      checkDecodeInput(vectors, count, this.dim);
    } catch (error) {
      return Promise.reject(error);
    }
    if (count === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, vectors: vectors.slice(), count, options, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.postMessage({ id: job.id, vectors: job.vectors, count: job.count, options: job.options }, [
        job.vectors.buffer as ArrayBuffer,
      ]);
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    for (const job of [...this.slots.flatMap((s) => (s.job ? [s.job] : [])), ...this.queue.splice(0)]) job.reject(error);
    for (const slot of this.slots) slot.job = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
