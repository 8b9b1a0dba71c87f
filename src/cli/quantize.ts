import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isQuantized, QUANT_SCHEME, quantizeTensors } from "../lvm/quantized-model.ts";
import { readManifestFile, readModel } from "../lvm/read-model.ts";
import { type Command, UsageError } from "./command.ts";

export const quantizeCommand: Command = {
  name: "quantize",
  summary: "post-training INT8 (per-output-channel weights) of a model directory",
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
    const { entries, bytes } = quantizeTensors(model.tensors);
    const quantized = { ...manifest, quantization: { scheme: QUANT_SCHEME, source: modelDir }, tensors: entries };
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "weights.bin.tmp"), bytes);
    await writeFile(join(out, "model.json.tmp"), `${JSON.stringify(quantized, null, 1)}\n`);
    await rename(join(out, "weights.bin.tmp"), join(out, "weights.bin"));
    await rename(join(out, "model.json.tmp"), join(out, "model.json"));
    const before = (await readFile(join(modelDir, "weights.bin"))).length;
    console.log(
      `wrote ${out}: weights ${(bytes.length / 1e6).toFixed(2)} MB INT8 vs ${(before / 1e6).toFixed(2)} MB float32 (${(100 * (1 - bytes.length / before)).toFixed(1)}% smaller)`,
    );
    return 0;
  },
};
