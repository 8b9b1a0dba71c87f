// Node: read and write a decoder model directory (model.json + weights.bin, model-format.ts), and load it on the
// process's WASM core.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCore } from "../core/wasm-core-node.ts";
import { writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { CoreDecoder, type DecoderPrecision } from "./core-decoder.ts";
import { DecoderFormatError, type DecoderManifest, type DecoderModel, decodeDecoder, encodeDecoder } from "./model-format.ts";

export async function readDecoder(dir: string): Promise<{ manifest: DecoderManifest; model: DecoderModel }> {
  let json: string;
  try {
    json = await readFile(join(dir, "model.json"), "utf8");
  } catch {
    throw new DecoderFormatError(`${dir} is not a decoder directory (no model.json)`);
  }
  const weights = await readFile(join(dir, "weights.bin")).catch(() => {
    throw new DecoderFormatError(`${dir}: weights.bin is missing`);
  });
  return decodeDecoder(json, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), dir);
}

/** Writes weights.bin then model.json (the commit point), both atomically. */
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

/** A decoder directory on the shared core (INT8 by default). */
export async function loadCoreDecoder(
  dir: string,
  precision: DecoderPrecision = "int8",
): Promise<{ manifest: DecoderManifest; decoder: CoreDecoder }> {
  const [{ manifest, model }, core] = await Promise.all([readDecoder(dir), loadCore()]);
  return { manifest, decoder: new CoreDecoder(core, model, precision) };
}
