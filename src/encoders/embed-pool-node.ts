// Node: an Encoder on N worker threads (embed-worker-node.ts), each with its own encoder. Calls go to the first
// idle worker in the order they are made; each answer resolves its own promise, so the caller decides the
// order it uses them in (ingest commits in corpus order). Small calls waiting together (a server's requests
// under load) go to one worker as one batch of at most MERGE_TEXTS texts; large ones (ingest's commits) never merge.
import type { Worker } from "node:worker_threads";
import { openWorkers } from "../workers/open-workers-node.ts";
import { encoderEntry } from "./registry-node.ts";
import type { Encoder } from "./types.ts";
import { UnigramTokenizer } from "./unigram-tokenizer.ts";
import { truncatedByUseLite } from "./use-lite-core.ts";
import { readUseLiteCoreFile } from "./use-lite-core-format.ts";
import { readUseLiteCoreWeights } from "./use-lite-core-node.ts";
import { USE_LITE_ID } from "./use-lite-weights.ts";

/** Queued calls are sent together while their texts add up to at most this many. */
const MERGE_TEXTS = 64;

interface Job {
  id: number;
  texts: string[];
  /** Sent without merging (it was merged into a call that failed). */
  alone?: boolean;
  resolve(vectors: Float32Array): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** The calls sent to this worker as one message (their texts concatenated), under the first one's id. */
  jobs?: Job[];
}

export class EmbedPool implements Encoder {
  readonly id: string;
  readonly dim: number;
  truncates?: (text: string) => boolean;
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private failed?: Error;
  private closed = false;

  private constructor(id: string, dim: number, slots: Slot[]) {
    this.id = id;
    this.dim = dim;
    this.slots = slots;
    for (const slot of slots) {
      slot.worker.on("message", (message: { id: number; vectors?: Float32Array; error?: string }) => {
        const jobs = slot.jobs;
        if (!jobs || message.id !== jobs[0].id) return;
        slot.jobs = undefined;
        if (message.error !== undefined) {
          // One bad text must not fail the calls it was merged with: those are sent again on their own.
          if (jobs.length === 1) jobs[0].reject(new Error(message.error));
          else this.queue.unshift(...jobs.map((job) => ({ ...job, alone: true })));
        } else {
          let row = 0;
          for (const job of jobs) {
            job.resolve(message.vectors!.slice(row * this.dim, (row + job.texts.length) * this.dim));
            row += job.texts.length;
          }
        }
        this.dispatch();
      });
      const lost = (error: Error) => this.fail(error);
      slot.worker.on("error", lost);
      slot.worker.on("exit", (code) => {
        if (!this.closed) lost(new Error(`an embedding worker thread exited (code ${code})`));
      });
    }
  }

  /** Starts `threads` workers and waits until each has loaded encoder `encoderId` (a load error rejects). */
  static async open(encoderId: string, threads: number): Promise<EmbedPool> {
    const entry = encoderEntry(encoderId);
    const { workers } = await openWorkers(
      new URL("./embed-worker-node.ts", import.meta.url),
      threads,
      { encoder: encoderId },
      "an embedding worker thread",
    );
    const pool = new EmbedPool(
      entry.id,
      entry.dim,
      workers.map((worker) => ({ worker })),
    );
    if (entry.id === USE_LITE_ID) {
      // Truncation is a tokenizer question, answered here: the vocabulary travels in the core's weights file.
      const tokenizer = new UnigramTokenizer(readUseLiteCoreFile(await readUseLiteCoreWeights("int8")).vocabulary);
      pool.truncates = (text: string) => truncatedByUseLite(tokenizer, text);
    }
    return pool;
  }

  get threads(): number {
    return this.slots.length;
  }

  embed(texts: readonly string[]): Promise<Float32Array> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error("embedding pool is closed"));
    if (texts.length === 0) return Promise.resolve(new Float32Array(0));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, texts: [...texts], resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.jobs) continue;
      const jobs = [this.queue.shift()!];
      let count = jobs[0].texts.length;
      while (!jobs[0].alone && this.queue.length > 0 && !this.queue[0].alone && count + this.queue[0].texts.length <= MERGE_TEXTS) {
        count += this.queue[0].texts.length;
        jobs.push(this.queue.shift()!);
      }
      slot.jobs = jobs;
      slot.worker.postMessage({ id: jobs[0].id, texts: jobs.length === 1 ? jobs[0].texts : jobs.flatMap((j) => j.texts) });
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    for (const job of [...this.slots.flatMap((s) => s.jobs ?? []), ...this.queue.splice(0)]) job.reject(error);
    for (const slot of this.slots) slot.jobs = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  dispose(): void {
    void this.close();
  }
}
