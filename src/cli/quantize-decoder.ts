// `lvm quantize-decoder`: a float32 decoder directory -> its INT8 directory (src/decoder/model-int8-format.ts).
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseDecoderFiles } from "../decoder/decoder-files.ts";
import { decoderParameterCount } from "../decoder/model-format.ts";
import { encodeInt8Decoder, quantizeDecoderWeights } from "../decoder/model-int8-format.ts";
import { readDecoder } from "../decoder/model-node.ts";
import { removeTempFiles, writeFilesAtomic } from "../fs/atomic-write-node.ts";
import { acquireWriteLock } from "../fs/write-lock-node.ts";
import { type Command, UsageError } from "./command.ts";

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

export const quantizeDecoderCommand: Command = {
  usage: `lvm quantize-decoder --model <f32 dir> --out <dir>

Writes the INT8 copy of a float32 decoder directory: each weight matrix as int8 codes [out, in] with one float32
scale per output row, the token embedding with one scale per token, biases float32 (layout:
src/decoder/model-int8-format.ts). These are the weights the WASM core runs when it quantises the f32 file at
load, so 'lvm decode' and 'lvm eval-decoder' give the same results from either directory (INT8 on the core);
the f32 reference and '--precision f32' run the dequantised weights. Files are written atomically (model.json
last).

Options:
  --model <dir>   float32 decoder directory (model.json + weights.bin)   (required)
  --out <dir>     output directory, not --model's                         (required)`,
  options: { model: { type: "string" }, out: { type: "string" } },
  async run(values) {
    const modelDir = values.model as string | undefined;
    const out = values.out as string | undefined;
    if (!modelDir || !out) throw new UsageError("--model <dir> and --out <dir> are required");
    if (resolve(modelDir) === resolve(out))
      throw new UsageError("--out must be another directory than --model (the f32 weights would be replaced)");
    const { manifest, model, precision } = await readDecoder(modelDir);
    if (precision !== "f32") throw new Error(`${modelDir} is already an INT8 decoder (precision "int8"): give its float32 directory`);
    const sourceBytes = (await readFile(join(modelDir, "weights.bin"))).length;
    const { manifest: int8Manifest, bytes } = encodeInt8Decoder(
      model.config,
      quantizeDecoderWeights(model),
      manifest.encoder,
      manifest.training,
      {
        source: modelDir,
        sourceWeights: manifest.weights,
      },
    );
    const json = `${JSON.stringify(int8Manifest, null, 1)}\n`;
    // What is written must read back: the same checks every loader runs.
    parseDecoderFiles(json, bytes, out);
    await mkdir(out, { recursive: true });
    // One writer per directory; model.json is renamed last, so it never describes other weights.
    await using _lock = await acquireWriteLock(out, { command: "lvm quantize-decoder" });
    await removeTempFiles(out);
    await writeFilesAtomic(out, [
      { name: "weights.bin", data: bytes },
      { name: "model.json", data: json },
    ]);
    const c = model.config;
    console.log(
      `wrote ${out}: ${decoderParameterCount(c).toLocaleString("en-US")} parameters (V ${c.vocab}, D ${c.dim}, E ${c.embed}, H ${c.hidden}); ` +
        `weights.bin ${mb(bytes.length)} INT8 vs ${mb(sourceBytes)} float32 (${(100 * (1 - bytes.length / sourceBytes)).toFixed(1)}% smaller); ` +
        `model.json ${(Buffer.byteLength(json) / 1e3).toFixed(1)} KB`,
    );
    return 0;
  },
};
