// `lvm decode`: vectors (a .f32 file, JSON on stdin, or texts embedded here) -> generated text with refinement.
import { readFile } from "node:fs/promises";
import { text as readStdin } from "node:stream/consumers";
import { loadVectorDecoder } from "../decoder/vector-decoder-node.ts";
import { vectorsFromF32, vectorsFromJson } from "../decoder/vector-input.ts";
import { loadUseLiteCoreEncoder } from "../encoders/use-lite-core-node.ts";
import { type Command, UsageError } from "./command.ts";
import { REFINE_FLAGS, REFINE_USAGE, refineOptions } from "./refine-options.ts";

export const decodeCommand: Command = {
  usage: `Usage: lvm decode --model <dir> [--vectors <file.f32> | --text <t> ... | JSON on stdin] [options]

Prints one JSON line per vector: {"index", "text", "cosine", "steps", "history": [{"step", "text", "cosine"}]}, where
cosine is that of the text's USE-lite embedding to the vector. Vectors are read as unit length (scaled if not).

  --vectors <file>   little-endian float32 rows of 512 values
  --text <t>         embed this text and decode its vector (repeatable): a round trip
  (neither)          stdin: {"vectors": [[...512 numbers], ...]} or [[...], ...]
${REFINE_USAGE}
  --precision <p>    int8 (default) | f32: the decoder on the WASM core`,
  options: {
    model: { type: "string" },
    vectors: { type: "string" },
    text: { type: "string", multiple: true },
    ...REFINE_FLAGS,
    precision: { type: "string" },
  },
  async run(values) {
    const model = values.model as string | undefined;
    if (!model) throw new UsageError("--model is required");
    const precision = (values.precision as string | undefined) ?? "int8";
    if (precision !== "int8" && precision !== "f32") throw new UsageError(`--precision must be int8 or f32, got '${precision}'`);
    const options = refineOptions(values);
    const encoder = await loadUseLiteCoreEncoder({ precision: "int8" });
    const { decoder } = await loadVectorDecoder(model, { precision, encoder });
    const texts = (values as unknown as { text?: string[] }).text;
    let input: { vectors: Float32Array; count: number };
    if (values.vectors && texts) throw new UsageError("give --vectors or --text, not both");
    if (values.vectors)
      input = vectorsFromF32(new Uint8Array(await readFile(values.vectors as string)), decoder.dim, values.vectors as string);
    else if (texts) input = { vectors: await encoder.embed(texts), count: texts.length };
    else input = vectorsFromJson(await readStdin(process.stdin), decoder.dim, "stdin");
    const started = performance.now();
    const decoded = await decoder.decode(input.vectors, input.count, options);
    decoded.forEach((d, index) => {
      console.log(
        JSON.stringify({
          index,
          ...(texts ? { input: texts[index] } : {}),
          text: d.text,
          cosine: Number(d.cosine.toFixed(4)),
          steps: d.steps,
          history: d.history.map(({ step, text, cosine }) => ({ step, text, cosine })),
        }),
      );
    });
    console.error(`${input.count} vectors decoded in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    return 0;
  },
};
