// What both Worker entries (worker.ts, worker-sharded.ts) need to say a predicted vector as text: USE-lite on the
// isolate's core from its edge weights file, and the bundled decoder's weights, both read from the static assets
// (ASSETS) on first use; bundled as data they would take the upload past the 10 MB limit (worker.ts's header).
import type { decoder as bundledDecoder } from "../../worker-assets/index.ts";
import type { WasmCore } from "../core/wasm-core.ts";
import { isInt8Manifest } from "../decoder/decoder-files.ts";
import type { VectorDecoder } from "../decoder/vector-decoder.ts";
import { vectorDecoderFromFiles } from "../decoder/vector-decoder-files.ts";
import type { Encoder } from "../encoders/types.ts";
import { createUseLiteCoreEncoder } from "../encoders/use-lite-core.ts";
import { readUseLiteCoreFile, USE_LITE_EDGE_FILE } from "../encoders/use-lite-core-format.ts";
import { RequestError } from "../predict/errors.ts";

/** Workers Static Assets (public/, [assets] in the wrangler configuration). */
export interface AssetsBinding {
  fetch(request: Request): Promise<Response>;
}

export type BundledDecoder = NonNullable<typeof bundledDecoder>;

/** `load` called once and its promise shared; a failure is not kept, so the next call tries again. */
export function retried<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

export interface UseLite {
  encoder: Encoder;
  /** The SentencePiece pieces in id order, for the decoder's detokenizer (read only when asked for). */
  pieces?: string[];
}

/**
 * Core bytes to reserve before USE-lite when `decoder` will follow on the same core (WasmCore.reserve): 24 MiB for
 * USE-lite at 512 tokens a pass (its weights, ranking packings and activation buffers), 1.3x the decoder's INT8
 * weights (packed, plus the copy of the matrix being packed) and 4 MiB for the allocator. The core holds INT8 either
 * way: an f32 file is quantised on load, to a quarter of its bytes. test/core/reserve.test.ts loads the edge USE-lite
 * and the shipped decoder into a core that reserved this (43.2 MiB) and checks that it did not grow.
 */
export function decodingReserveBytes(decoder: BundledDecoder): number {
  const int8Bytes = isInt8Manifest(decoder.manifestText) ? decoder.weightBytes : decoder.weightBytes / 4;
  return (24 << 20) + Math.ceil(1.3 * int8Bytes) + (4 << 20);
}

/**
 * USE-lite on `core` from /use-lite-int8-edge.bin in the assets; a 503 naming the file when it is missing. With a
 * decoder to follow, the core first reserves `reserveBytes` (decodingReserveBytes: what both take).
 */
export async function loadUseLite(
  assets: AssetsBinding | undefined,
  core: WasmCore,
  withPieces: boolean,
  reserveBytes = 0,
): Promise<UseLite> {
  const response = await assets?.fetch(new Request(`http://localhost/${USE_LITE_EDGE_FILE}`));
  if (!response?.ok)
    throw new RequestError(
      503,
      "encoder_unavailable",
      `the text encoder's weights (/${USE_LITE_EDGE_FILE} in the static assets) are missing: send vectors, or deploy with 'npm run build' first`,
    );
  const bytes = new Uint8Array(await response.arrayBuffer());
  const pieces = withPieces ? readUseLiteCoreFile(bytes).vocabulary.map(([piece]) => piece) : undefined;
  if (reserveBytes > 0) core.reserve(reserveBytes);
  return { encoder: createUseLiteCoreEncoder(core, bytes, { maxBatchTokens: 512 }), pieces };
}

/** The bundled decoder on the core, INT8, with its weights from the static assets and the isolate's encoder. */
export async function loadDecoderFromAssets(
  assets: AssetsBinding | undefined,
  core: WasmCore,
  bundled: BundledDecoder,
  useLite: () => Promise<UseLite>,
): Promise<VectorDecoder> {
  const [{ encoder, pieces }, response] = await Promise.all([
    useLite(),
    assets?.fetch(new Request(`http://localhost/${bundled.weightsAsset}`)),
  ]);
  if (!response?.ok)
    throw new Error(`its weights (/${bundled.weightsAsset} in the static assets) are missing: deploy with 'npm run build' first`);
  const weights = new Uint8Array(await response.arrayBuffer());
  const source = `decoder '${bundled.name}' (model.json in the bundle, /${bundled.weightsAsset})`;
  return vectorDecoderFromFiles(core, { manifestText: bundled.manifestText, weights, source }, encoder, pieces ?? []).decoder;
}
