// `lvm train-decoder`: trains the vector-to-text decoder (src/decoder) on sentence files from `lvm decoder-data`.

import { readSentenceSet } from "../decoder/dataset-node.ts";
import { defaultDecoderConfig } from "../decoder/model-format.ts";
import { trainDecoder } from "../decoder/train-node.ts";
import { readUseLitePieces } from "../decoder/vocabulary-node.ts";
import { type Command, intOption, positiveNumberOption, UsageError } from "./command.ts";

export const trainDecoderCommand: Command = {
  usage: `Usage: lvm train-decoder --train <train.sent> --val <val.sent> --out <dir> [options]

Teacher forcing, cross-entropy over the 8k USE-lite pieces, Adam, on TF.js (one thread). Writes <dir>/model.json and
weights.bin at every validation and at the end, with the optimizer state beside them (optimizer.json, optimizer.bin:
Adam's moments and step, the data position) so that --resume continues the run exactly.

  --minutes <m>          time box (default 30)
  --max-steps <n>        stop at step n, counted from the run's start (default unlimited)
  --batch <n>            sentences per step (default 64)
  --lr <x>               Adam learning rate (default 0.002)
  --clip <x>             gradient global-norm clip (default 5)
  --embed <n> --hidden <n>  sizes (default 128, 256; multiples of 16)
  --validate-every <n>   steps (default 500)
  --val-sentences <n>    validation sentences (default 1024)
  --init <dir>           start from this model's weights (fresh Adam state and data order)
  --resume <dir>         continue the run written in <dir> exactly (Adam's moments, step, data order); --out
                         defaults to <dir>; --train, --val, --batch, --lr, --clip, --seed, --embed, --hidden
                         must be those of the run (refused otherwise, naming the difference)
  --seed <n>             default 1`,
  options: {
    train: { type: "string" },
    val: { type: "string" },
    out: { type: "string" },
    minutes: { type: "string" },
    "max-steps": { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    clip: { type: "string" },
    embed: { type: "string" },
    hidden: { type: "string" },
    "validate-every": { type: "string" },
    "val-sentences": { type: "string" },
    init: { type: "string" },
    resume: { type: "string" },
    seed: { type: "string" },
  },
  async run(values) {
    const resume = values.resume as string | undefined;
    const [train, val] = [values.train, values.val] as (string | undefined)[];
    const out = (values.out as string | undefined) ?? resume;
    if (!train || !val || !out) throw new UsageError("--train, --val and --out (or --resume) are required");
    if (resume && values.init)
      throw new UsageError("--init and --resume exclude each other: --resume continues a run, --init starts one from weights");
    const [trainSet, valSet] = await Promise.all([readSentenceSet(train), readSentenceSet(val)]);
    const valArticles = new Set(valSet.articles);
    const overlap = trainSet.articles.filter((a) => valArticles.has(a));
    if (overlap.length > 0)
      throw new Error(`${train} and ${val} share ${overlap.length} articles (e.g. '${overlap[0]}'): they must be article-disjoint`);
    const config = {
      ...defaultDecoderConfig((await readUseLitePieces()).length, trainSet.dim),
      embed: intOption(values.embed, "embed", 128),
      hidden: intOption(values.hidden, "hidden", 256),
    };
    const { history, parameters } = await trainDecoder({
      train: trainSet,
      val: valSet,
      out,
      config,
      init: values.init as string | undefined,
      resume,
      batch: intOption(values.batch, "batch", 64),
      lr: positiveNumberOption(values.lr, "lr", 0.002),
      clip: positiveNumberOption(values.clip, "clip", 5),
      minutes: positiveNumberOption(values.minutes, "minutes", 30),
      maxSteps: intOption(values["max-steps"], "max-steps", Number.MAX_SAFE_INTEGER),
      validateEvery: intOption(values["validate-every"], "validate-every", 500),
      valSentences: intOption(values["val-sentences"], "val-sentences", 1024),
      seed: intOption(values.seed, "seed", 1),
      sources: { train, val, trainSentences: trainSet.offsets.length - 1, trainArticles: trainSet.articles.length },
      log: (line) => console.error(line),
    });
    const last = history[history.length - 1];
    console.log(
      `${out}: ${parameters} parameters, ${last.step} steps, val ${last.valLoss.toFixed(3)} nats/token, ${last.tokensPerSecond.toFixed(0)} tokens/s`,
    );
    return 0;
  },
};
