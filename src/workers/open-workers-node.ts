// Node: starts `count` worker threads of one module and waits until each has said it is ready (its first message,
// `{ ready: true, ... }`), or rejects with the first failure (terminating them all). The pools built on it
// (src/encoders/embed-pool-node.ts, src/decoder/decode-pool-node.ts) then attach their own listeners.
import { Worker } from "node:worker_threads";

export interface ReadyMessage {
  ready: boolean;
  error?: string;
}

/** `what` names the workers in errors ("an embedding worker thread exited while loading (code 1)"). */
export async function openWorkers<T extends ReadyMessage>(
  module: URL,
  count: number,
  workerData: unknown,
  what: string,
): Promise<{ workers: Worker[]; readies: T[] }> {
  const workers = Array.from({ length: count }, () => new Worker(module, { workerData }));
  let readies: T[];
  try {
    readies = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<T>((resolve, reject) => {
            worker.once("message", (m: T) => (m.ready ? resolve(m) : reject(new Error(m.error ?? `${what} failed to load`))));
            worker.once("error", reject);
            worker.once("exit", (code) => reject(new Error(`${what} exited while loading (code ${code})`)));
          }),
      ),
    );
  } catch (error) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
  // Only the loading listeners: Worker keeps its own (newListener) to ref its port while 'message' is listened to.
  for (const w of workers) for (const event of ["message", "error", "exit"]) w.removeAllListeners(event);
  return { workers, readies };
}
