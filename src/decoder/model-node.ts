// Node: read and write a decoder model directory (model.json + weights.bin: float32, model-format.ts, or INT8,
// model-int8-format.ts), and load it on the process's WASM core.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCore } from "../core/wasm-core-node.ts";
import { writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { CoreDecoder, type DecoderPrecision } from "./core-decoder.ts";
import { type AnyDecoderManifest, type ParsedDecoderFiles, parseDecoderFiles } from "./decoder-files.ts";
import { DecoderFormatError, type DecoderManifest, type DecoderModel, encodeDecoder } from "./model-format.ts";

/** Either precision (decoder-files.ts). */
export async function readDecoder(dir: string): Promise<ParsedDecoderFiles> {
  let json: string;
  try {
    json = await readFile(join(dir, "model.json"), "utf8");
  } catch {
    throw new DecoderFormatError(`${dir} is not a decoder directory (no model.json)`);
  }
  const weights = await readFile(join(dir, "weights.bin")).catch(() => {
    throw new DecoderFormatError(`${dir}: weights.bin is missing`);
  });
  return parseDecoderFiles(json, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), dir);
}

/** Writes a float32 directory: weights.bin then model.json (the commit point), both atomically. */
export async function writeDecoder(
  dir: string,
  model: DecoderModel,
  encoder: { id: string; dim: number },
  training: Record<string, unknown>,
): Promise<DecoderManifest> {
  const { manifest, bytes } = encodeDecoder(model, encoder, training);
  await writeFilesAtomic(
    dir,
    [
      { name: "weights.bin", data: bytes },
      { name: "model.json", data: `${JSON.stringify(manifest, null, 1)}\n` },
    ],
    { mkdir: true },
  );
  return manifest;
}

/** A decoder directory (either precision) on the shared core, run in INT8 by default (an INT8 file's weights as
 * stored; f32 on an INT8 file runs its dequantised weights). */
export async function loadCoreDecoder(
  dir: string,
  precision: DecoderPrecision = "int8",
): Promise<{ manifest: AnyDecoderManifest; decoder: CoreDecoder }> {
  const [{ manifest, model }, core] = await Promise.all([readDecoder(dir), loadCore()]);
  return { manifest, decoder: new CoreDecoder(core, model, precision) };
}
