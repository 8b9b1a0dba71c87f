// Node: a VectorDecoder from a decoder directory (float32 or INT8), on the process's shared WASM core, with the core
// INT8 USE-lite encoder re-embedding the hypotheses (or the encoder given).
import type { Encoder } from "../encoders/types.ts";
import { loadUseLiteCoreEncoder } from "../encoders/use-lite-core-node.ts";
import type { DecoderPrecision } from "./core-decoder.ts";
import type { AnyDecoderManifest } from "./decoder-files.ts";
import { loadCoreDecoder } from "./model-node.ts";
import { createVectorDecoder, type VectorDecoder } from "./vector-decoder.ts";
import { readUseLitePieces } from "./vocabulary-node.ts";

export async function loadVectorDecoder(
  dir: string,
  options: { precision?: DecoderPrecision; encoder?: Encoder } = {},
): Promise<{ decoder: VectorDecoder; manifest: AnyDecoderManifest; weightBytes: number }> {
  const [{ manifest, decoder: runner }, encoder, pieces] = await Promise.all([
    loadCoreDecoder(dir, options.precision ?? "int8"),
    options.encoder ?? loadUseLiteCoreEncoder({ precision: "int8" }),
    readUseLitePieces(),
  ]);
  if (manifest.encoder.id !== encoder.id)
    throw new Error(`${dir} decodes vectors of the encoder '${manifest.encoder.id}', not '${encoder.id}'`);
  return { decoder: createVectorDecoder(runner, encoder, pieces), manifest, weightBytes: runner.weightBytes };
}
