// Node worker thread of a DecodePool (decode-pool-node.ts: the server's LVM_DECODE_THREADS): loads its own decoder
// and re-embedding encoder (its own WASM core instance) and decodes the requests the main thread sends, one at a
// time, so that a decode (~150 ms of CPU) never blocks the server's event loop.
//   in:  { id, vectors: Float32Array, count, options }
//   out: { ready: true, dim, encoderId, weightBytes } once loaded | { ready: false, error }
//        | { id, decoded: DecodedText[] } | { id, error, input: boolean (a DecoderInputError) }
import { parentPort, workerData } from "node:worker_threads";
import { encoderEntry } from "../encoders/registry-node.ts";
import type { DecoderPrecision } from "./core-decoder.ts";
import { DecoderInputError, type RefineOptions } from "./refine.ts";
import type { VectorDecoder } from "./vector-decoder.ts";
import { loadVectorDecoder } from "./vector-decoder-node.ts";

const port = parentPort;
if (!port) throw new Error("decode-worker-node.ts runs as a worker thread");
const { dir, precision, encoder: encoderId } = workerData as { dir: string; precision?: DecoderPrecision; encoder?: string };

let decoder: VectorDecoder;
try {
  const encoder = encoderId ? await encoderEntry(encoderId).load() : undefined;
  const loaded = await loadVectorDecoder(dir, { precision, encoder });
  decoder = loaded.decoder;
  port.postMessage({ ready: true, dim: decoder.dim, encoderId: decoder.encoderId, weightBytes: loaded.weightBytes });
} catch (error) {
  port.postMessage({ ready: false, error: (error as Error).message });
  process.exit(1);
}

port.on(
  "message",
  async ({ id, vectors, count, options }: { id: number; vectors: Float32Array; count: number; options?: RefineOptions }) => {
    try {
      port.postMessage({ id, decoded: await decoder.decode(vectors, count, options) });
    } catch (error) {
      port.postMessage({ id, error: (error as Error).message, input: error instanceof DecoderInputError });
    }
  },
);
