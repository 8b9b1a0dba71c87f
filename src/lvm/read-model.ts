// Node loader and writer for model directories (model.json + weights.bin, see model-format.ts).
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeTensors, ModelFormatError, type ModelManifest, type TensorMap } from "./model-format.ts";
import { loadModelFromBytes, type ReferenceModel } from "./reference.ts";

export async function readManifestFile(dir: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, "model.json"), "utf8");
  } catch {
    throw new ModelFormatError(`${dir} is not a model directory (no model.json)`);
  }
  return JSON.parse(text) as ModelManifest;
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

/** Writes a model directory; each file is written to a temporary name then renamed (a kill leaves the old one). */
export async function writeModel(dir: string, manifest: Omit<ModelManifest, "tensors">, tensors: TensorMap): Promise<ModelManifest> {
  await mkdir(dir, { recursive: true });
  const { entries, bytes } = encodeTensors(tensors);
  const full: ModelManifest = { ...manifest, tensors: entries } as ModelManifest;
  await writeFile(join(dir, "weights.bin.tmp"), bytes);
  await writeFile(join(dir, "model.json.tmp"), `${JSON.stringify(full, null, 1)}\n`);
  await rename(join(dir, "weights.bin.tmp"), join(dir, "weights.bin"));
  await rename(join(dir, "model.json.tmp"), join(dir, "model.json"));
  return full;
}
