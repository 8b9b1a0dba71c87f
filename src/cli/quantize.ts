import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { removeTempFiles, writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { acquireWriteLock } from "../fs/write-lock-node.ts";
import { isQuantized, quantizeModel } from "../lvm/quantized-model.ts";
import { readManifestFile, readModel } from "../lvm/read-model.ts";
import { type Command, UsageError } from "./command.ts";

export const quantizeCommand: Command = {
  usage: `lvm quantize --model <dir> --out <dir>

Writes an INT8 copy of a float32 model: every weight matrix as int8 codes with one float32 scale per
output channel; biases, norms and positions stay float32. The WASM core runs it as INT8 ('core-int8').
Compare both with 'lvm eval --model <dir>' on the same store.

Options:
  --model <dir>   float32 model directory (model.json + weights.bin)   (required)
  --out <dir>     output directory                                      (required)`,
  options: { model: { type: "string" }, out: { type: "string" } },
  async run(values) {
    const modelDir = values.model as string | undefined;
    const out = values.out as string | undefined;
    if (!modelDir || !out) throw new UsageError("--model <dir> and --out <dir> are required");
    const manifest = await readManifestFile(modelDir);
    if (isQuantized(manifest)) throw new Error(`${modelDir} is already quantized (${JSON.stringify(manifest.quantization)})`);
    const model = await readModel(modelDir);
    const { manifest: quantized, bytes } = quantizeModel(manifest, model.tensors, modelDir);
    await mkdir(out, { recursive: true });
    // One writer per model directory; model.json is renamed last, so it never describes other weights.
    await using _lock = await acquireWriteLock(out, { command: "lvm quantize" });
    await removeTempFiles(out);
    await writeFilesAtomic(out, [
      { name: "weights.bin", data: bytes },
      { name: "model.json", data: `${JSON.stringify(quantized, null, 1)}\n` },
    ]);
    const before = (await readFile(join(modelDir, "weights.bin"))).length;
    console.log(
      `wrote ${out}: weights ${(bytes.length / 1e6).toFixed(2)} MB INT8 vs ${(before / 1e6).toFixed(2)} MB float32 (${(100 * (1 - bytes.length / before)).toFixed(1)}% smaller)`,
    );
    return 0;
  },
};
