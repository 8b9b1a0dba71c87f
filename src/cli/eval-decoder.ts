// `lvm eval-decoder`: held-out sentences decoded from their vectors, per refinement step, against retrieval decode.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadCore } from "../core/wasm-core-node.ts";
import { CoreDecoder } from "../decoder/core-decoder.ts";
import { readSentenceSet } from "../decoder/dataset-node.ts";
import { decoderReportMarkdown, decoderReportSvg } from "../decoder/eval-report.ts";
import { evaluateDecoder, generationLimit } from "../decoder/evaluate.ts";
import { decoderParameterCount } from "../decoder/model-format.ts";
import { loadCoreDecoder, readDecoder } from "../decoder/model-node.ts";
import { type PrecisionCheck, precisionCheck } from "../decoder/precision-check.ts";
import { ReferenceDecoder } from "../decoder/reference.ts";
import { readUseLitePieces } from "../decoder/vocabulary-node.ts";
import { loadUseLiteCoreEncoder } from "../encoders/use-lite-core-node.ts";
import { type Command, intOption, UsageError } from "./command.ts";
import { REFINE_FLAGS, REFINE_USAGE, refineOptions } from "./refine-options.ts";

export const evalDecoderCommand: Command = {
  usage: `Usage: lvm eval-decoder --model <dir> --test <test.sent> --out <dir> [options]

Writes <out>/decoder-eval.json, decoder-eval.md and decoder-eval.svg.

  --sentences <n>    held-out sentences, evenly spaced (default 200)
  --store <file>     more retrieval candidates (a sentence file; repeatable); the test set is always a candidate
${REFINE_USAGE}
  --max-tokens <n>   most pieces per generated text (default: the model's training length or the test set's
                     longest item, whichever is more, so paragraphs are not cut at the sentence length)
  --precision <p>    int8 (default) | f32
  --int8-check <n>   also compare INT8 and f32 greedy decoding on the core (and f32 with the reference) on n vectors`,
  options: {
    model: { type: "string" },
    test: { type: "string" },
    out: { type: "string" },
    store: { type: "string", multiple: true },
    sentences: { type: "string" },
    ...REFINE_FLAGS,
    "max-tokens": { type: "string" },
    precision: { type: "string" },
    "int8-check": { type: "string" },
  },
  async run(values) {
    const [model, test, out] = [values.model, values.test, values.out] as (string | undefined)[];
    if (!model || !test || !out) throw new UsageError("--model, --test and --out are required");
    const precision = (values.precision as string | undefined) ?? "int8";
    if (precision !== "int8" && precision !== "f32") throw new UsageError(`--precision must be int8 or f32, got '${precision}'`);
    const started = Date.now();
    const storePaths = (values as unknown as { store?: string[] }).store ?? [];
    const [{ decoder, manifest }, encoder, pieces, testSet, ...extra] = await Promise.all([
      loadCoreDecoder(model, precision),
      loadUseLiteCoreEncoder({ precision: "int8" }),
      readUseLitePieces(),
      readSentenceSet(test),
      ...storePaths.map(readSentenceSet),
    ]);
    if (manifest.encoder.id !== testSet.encoder)
      throw new Error(`${model} decodes '${manifest.encoder.id}' vectors, ${test} holds '${testSet.encoder}'`);
    const trained = new Set<string>(
      [(manifest.training.sources as { train?: string } | undefined)?.train].filter((x): x is string => typeof x === "string"),
    );
    if (trained.has(test)) throw new Error(`${test} is the decoder's training file: evaluate on held-out sentences`);
    const report = await evaluateDecoder({
      runner: decoder,
      embed: (texts) => encoder.embed(texts),
      // As the server decodes: candidates ranked by the encoder's faster vectors, cosines reported by embed's.
      rank: (texts) => encoder.embedForRanking(texts),
      pieces,
      test: testSet,
      extraStores: extra,
      sentences: intOption(values.sentences, "sentences", 200),
      refine: {
        ...refineOptions(values),
        maxTokens: intOption(values["max-tokens"], "max-tokens", generationLimit(manifest.config.maxTokens, testSet)),
      },
      log: (line) => console.error(line),
    });
    const checkCount = intOption(values["int8-check"], "int8-check", 0, 0);
    let int8Check: PrecisionCheck | null = null;
    if (checkCount > 0) {
      const { model: weights } = await readDecoder(model);
      const core = await loadCore();
      int8Check = precisionCheck(
        {
          int8: new CoreDecoder(core, weights, "int8"),
          f32: new CoreDecoder(core, weights, "f32"),
          reference: new ReferenceDecoder(weights),
        },
        testSet,
        checkCount,
      );
    }
    const wallSeconds = Math.round((Date.now() - started) / 1000);
    const command = `lvm eval-decoder ${process.argv.slice(3).join(" ")}`;
    await mkdir(out, { recursive: true });
    await writeFile(
      join(out, "decoder-eval.json"),
      `${JSON.stringify({ model, test, stores: storePaths, precision, weightBytes: decoder.weightBytes, parameters: decoderParameterCount(manifest.config), wallSeconds, int8Check, ...report }, null, 1)}\n`,
    );
    let markdown = decoderReportMarkdown(report, { model, test, command, wallSeconds });
    if (int8Check)
      markdown += `\n## INT8 against f32 on the core\n\nOn ${int8Check.vectors} held-out vectors, greedy: INT8 gives f32's pieces for ${(100 * int8Check.int8EqualsF32).toFixed(1)}% of the vectors; ${(100 * int8Check.sharedPrefix).toFixed(1)}% of f32's pieces lie in the prefix INT8 shares with it. f32 on the core gives the float64 reference's pieces for ${(100 * int8Check.f32EqualsReference).toFixed(0)}% of the first ${int8Check.referenceVectors}. Greedy, one vector at a time: INT8 ${int8Check.int8PiecesPerSecond.toFixed(0)} pieces/s, f32 ${int8Check.f32PiecesPerSecond.toFixed(0)} pieces/s.\n`;
    await writeFile(join(out, "decoder-eval.md"), markdown);
    await writeFile(join(out, "decoder-eval.svg"), decoderReportSvg(report));
    console.log(markdown);
    return 0;
  },
};
