/**
 * A decoder model directory's two files, as bytes, -> what the runners need; runtime-agnostic (no fs), so a Worker
 * can build a decoder from its assets. Reads both precisions: float32 (model-format.ts, version 1) and INT8
 * (model-int8-format.ts, version 2, `precision: "int8"`), chosen by model.json's `precision` field.
 */
import type { DecoderManifest, DecoderModel } from "./model-format.ts";
import { DecoderFormatError, decodeDecoder, targetDim } from "./model-format.ts";
import { type DecoderInt8Manifest, decodeInt8Decoder } from "./model-int8-format.ts";

export type AnyDecoderManifest = DecoderManifest | DecoderInt8Manifest;

export interface ParsedDecoderFiles {
  manifest: AnyDecoderManifest;
  /** INT8 files: `model.int8` holds the stored weights (the core runs them as they are), `model.tensors` their
   * dequantised f32 values (made on first use, for the reference or the core in f32). */
  model: DecoderModel;
  precision: "f32" | "int8";
}

/** Whether model.json text says INT8 (unparseable text is left to the f32 reader, which names the problem). */
export function isInt8Manifest(manifestText: string): boolean {
  try {
    return (JSON.parse(manifestText) as { precision?: unknown })?.precision === "int8";
  } catch {
    return false;
  }
}

/**
 * model.json text + weights.bin bytes -> the decoder; `source` names the directory in errors
 * ("<source>/model.json: ...", "<source>/weights.bin: ..."). Throws DecoderFormatError.
 * Use: `new CoreDecoder(core, files.model, "int8")` (src/decoder/core-decoder.ts).
 */
export function parseDecoderFiles(manifestText: string, weights: Uint8Array, source: string): ParsedDecoderFiles {
  const files: ParsedDecoderFiles = isInt8Manifest(manifestText)
    ? { ...decodeInt8Decoder(manifestText, weights, source), precision: "int8" }
    : { ...decodeDecoder(manifestText, weights, source), precision: "f32" };
  const { config, encoder } = files.manifest;
  if (config.corrector && config.dim % 2 !== 0)
    throw new DecoderFormatError(`${source}/model.json: config.dim is ${config.dim}, a corrector's is [target ; hypothesis] (even)`);
  if (encoder.dim !== targetDim(config))
    throw new DecoderFormatError(
      `${source}/model.json: encoder.dim is ${encoder.dim}, expected ${targetDim(config)} (the decoder's target width${config.corrector ? ", half of a corrector's config.dim" : ""})`,
    );
  return files;
}
