// Node loader and writer for model directories (model.json + weights.bin, see model-format.ts).
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { encodeTensors, ModelFormatError, type ModelManifest, parseModelManifest, type TensorMap, weightsRecord } from "./model-format.ts";
import { loadModelFromBytes, type ReferenceModel } from "./reference.ts";

export async function readManifestFile(dir: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "model.json"), "utf8");
  } catch {
    throw new ModelFormatError(`${dir} is not a model directory (no model.json)`);
  }
  return parseModelManifest(text, join(dir, "model.json"));
}

/** Reads a model directory into the reference representation (manifest + named float32 tensors). */
export async function readModel(dir: string): Promise<ReferenceModel> {
  const manifest = await readManifestFile(dir);
  const weights = await readFile(join(dir, "weights.bin"));
  return loadModelFromBytes(manifest, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
}

/** Bytes on disk of model.json + weights.bin. */
export async function modelSizeOnDisk(dir: string): Promise<number> {
  const [a, b] = await Promise.all([stat(join(dir, "model.json")), stat(join(dir, "weights.bin"))]);
  return a.size + b.size;
}

/**
 * Writes a model directory: both files durable under temporary names first, then renamed weights.bin before
 * model.json (the commit point), then the directory fsynced (src/fs/atomic-write-node.ts).
 */
export async function writeModel(dir: string, manifest: Omit<ModelManifest, "tensors">, tensors: TensorMap): Promise<ModelManifest> {
  const { entries, bytes } = encodeTensors(tensors);
  const full: ModelManifest = { ...manifest, tensors: entries, weights: weightsRecord(bytes) } as ModelManifest;
  await writeFilesAtomic(
    dir,
    [
      { name: "weights.bin", data: bytes },
      { name: "model.json", data: `${JSON.stringify(full, null, 1)}\n` },
    ],
    { mkdir: true },
  );
  return full;
}
