// Node worker thread of an EmbedPool (embed-pool-node.ts: `lvm ingest --threads N`, the server's
// LVM_EMBED_THREADS): loads its own encoder (for USE-lite, its own WASM core instance) and embeds the batches
// the main thread sends, one at a time.
//   in:  { id, texts: string[] }
//   out: { ready: true } once loaded | { ready: false, error } | { id, vectors: Float32Array } | { id, error }
import { parentPort, workerData } from "node:worker_threads";
import { encoderEntry } from "./registry-node.ts";
import type { Encoder } from "./types.ts";

const port = parentPort;
if (!port) throw new Error("embed-worker-node.ts runs as a worker thread");
const { encoder: encoderId } = workerData as { encoder: string };

let encoder: Encoder;
try {
  encoder = await encoderEntry(encoderId).load();
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ ready: false, error: (error as Error).message });
  process.exit(1);
}

port.on("message", async ({ id, texts }: { id: number; texts: string[] }) => {
  try {
    const vectors = await encoder.embed(texts);
    port.postMessage({ id, vectors }, [vectors.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ id, error: (error as Error).message });
  }
});
