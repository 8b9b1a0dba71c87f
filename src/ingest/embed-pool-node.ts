// Node: N worker threads (embed-worker-node.ts), each with its own encoder, embedding whole batches. Jobs go to
// the first idle worker in the order they are asked for; each answer resolves its own promise, so the caller
// decides the order it uses them in (ingest commits in corpus order).
import { Worker } from "node:worker_threads";

interface Job {
  id: number;
  texts: string[];
  resolve(vectors: Float32Array): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

export class EmbedPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private failed?: Error;
  private closed = false;

  private constructor(slots: Slot[]) {
    this.slots = slots;
    for (const slot of slots) {
      slot.worker.on("message", (message: { id: number; vectors?: Float32Array; error?: string }) => {
        const job = slot.job;
        if (!job || message.id !== job.id) return;
        slot.job = undefined;
        if (message.error !== undefined) job.reject(new Error(message.error));
        else job.resolve(message.vectors!);
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
    const workers = Array.from(
      { length: threads },
      () => new Worker(new URL("./embed-worker-node.ts", import.meta.url), { workerData: { encoder: encoderId } }),
    );
    try {
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve, reject) => {
              worker.once("message", (m: { ready: boolean; error?: string }) =>
                m.ready ? resolve() : reject(new Error(m.error ?? "encoder failed to load")),
              );
              worker.once("error", reject);
              worker.once("exit", (code) => reject(new Error(`an embedding worker thread exited while loading (code ${code})`)));
            }),
        ),
      );
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    // Only the loading listeners: Worker keeps its own (newListener) to ref its port while 'message' is listened to.
    for (const w of workers) for (const event of ["message", "error", "exit"]) w.removeAllListeners(event);
    return new EmbedPool(workers.map((worker) => ({ worker })));
  }

  get threads(): number {
    return this.slots.length;
  }

  embed(texts: string[]): Promise<Float32Array> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error("embedding pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, texts, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.postMessage({ id: job.id, texts: job.texts });
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
