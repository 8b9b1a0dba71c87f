// Node adapter: GTR-T5 from a local models/<name>/ folder (filled by `lvm models pull`), never the network.
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GTR_ONNX_FILES, GTR_T5_BASE, GTR_T5_DIM, type GtrDtype, type GtrHead, type ModelFiles } from "./gtr-t5.ts";
import type { GtrEncoder } from "./gtr-t5-encoder.ts";

/** The repository's models/ folder: LVM models and pulled encoders. */
const PACKAGE_MODELS_DIR = fileURLToPath(new URL("../../models/", import.meta.url));

/** Where pulled models live: $LVM_MODELS_DIR, else the repository's models/. */
export function modelsDir(): string {
  return resolve(process.env.LVM_MODELS_DIR || PACKAGE_MODELS_DIR);
}

export function directoryFiles(dir: string): ModelFiles {
  return {
    locate: (path) => join(dir, path),
    exists: (path) =>
      stat(join(dir, path)).then(
        (s) => s.isFile(),
        () => false,
      ),
    read: async (path) => new Uint8Array(await readFile(join(dir, path))),
  };
}

export interface LoadGtrOptions {
  head?: GtrHead;
  /** Folder name under the models directory. */
  model?: string;
  /** Default: modelsDir(). */
  modelsDir?: string;
  dtype?: GtrDtype;
  batchSize?: number;
  maxTokens?: number;
  /** Refuse a model of another width; default 768 for gtr-t5-base, none for another folder. */
  expectedDim?: number;
}

export async function loadGtrT5Encoder(options: LoadGtrOptions = {}): Promise<GtrEncoder> {
  const model = options.model ?? GTR_T5_BASE;
  const dir = resolve(options.modelsDir ?? modelsDir(), model);
  // $LVM_GTR_DTYPE picks the ONNX variant when a folder holds several (default: the first of q8, fp32, fp16).
  const envDtype = process.env.LVM_GTR_DTYPE || undefined;
  if (envDtype && !(envDtype in GTR_ONNX_FILES))
    throw new Error(`LVM_GTR_DTYPE must be one of ${Object.keys(GTR_ONNX_FILES).join(", ")}, got '${envDtype}'`);
  // transformers.js and onnxruntime load only when an encoder does, not with every `lvm` command.
  const { createGtrEncoder } = await import("./gtr-t5-encoder.ts");
  return createGtrEncoder({
    model,
    files: directoryFiles(dir),
    location: dir,
    head: options.head ?? "sentence-transformers",
    dtype: options.dtype ?? (envDtype as GtrDtype | undefined),
    batchSize: options.batchSize,
    maxTokens: options.maxTokens,
    expectedDim: options.expectedDim ?? (model === GTR_T5_BASE ? GTR_T5_DIM : undefined),
    device: "cpu",
  });
}
