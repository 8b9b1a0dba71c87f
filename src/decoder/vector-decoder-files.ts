/**
 * A VectorDecoder from a decoder directory's two files as bytes (float32 or INT8, parseDecoderFiles), on a core the
 * caller brings (runtime-agnostic: the Worker reads model.json from its bundle and weights.bin from its static assets;
 * Node has vector-decoder-node.ts). The same runner (CoreDecoder), refinement and encoder check as on Node, so both
 * answer alike for the same files.
 */
import type { WasmCore } from "../core/wasm-core.ts";
import type { Encoder } from "../encoders/types.ts";
import { CoreDecoder, type DecoderPrecision } from "./core-decoder.ts";
import { type AnyDecoderManifest, parseDecoderFiles } from "./decoder-files.ts";
import { createVectorDecoder, type VectorDecoder } from "./vector-decoder.ts";

export interface DecoderFiles {
  /** model.json's text. */
  manifestText: string;
  /** weights.bin's bytes. */
  weights: Uint8Array;
  /** Where the files came from, for errors ("<source>/model.json: ..."). */
  source: string;
}

export function vectorDecoderFromFiles(
  core: WasmCore,
  files: DecoderFiles,
  encoder: Encoder,
  pieces: readonly string[],
  precision: DecoderPrecision = "int8",
): { decoder: VectorDecoder; manifest: AnyDecoderManifest; weightBytes: number } {
  const { manifest, model } = parseDecoderFiles(files.manifestText, files.weights, files.source);
  if (manifest.encoder.id !== encoder.id)
    throw new Error(`${files.source} decodes vectors of the encoder '${manifest.encoder.id}', not '${encoder.id}'`);
  const runner = new CoreDecoder(core, model, precision);
  return { decoder: createVectorDecoder(runner, encoder, pieces), manifest, weightBytes: runner.weightBytes };
}
