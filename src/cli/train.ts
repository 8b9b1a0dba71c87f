import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { removeTempFiles } from "../fs/atomic-write-node.ts";
import { acquireWriteLock } from "../fs/write-lock-node.ts";
import { PRESETS, type Preset } from "../lvm/architectures.ts";
import { parseLossWeights } from "../train/losses.ts";
import { DEFAULT_BLEND_GRID, DEFAULT_HUBNESS_GRID, type TrainOptions } from "../train/options.ts";
import { train } from "../train/train.ts";
import { type Command, intOption, UsageError } from "./command.ts";
import { createProgress } from "./progress.ts";

function numberOption(value: string | boolean | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min}, got '${value}'`);
  return n;
}

export const trainCommand: Command = {
  usage: `lvm train --store <dir> --out <model-dir> [options]
lvm train --resume --out <model-dir>

Windows of 5 consecutive concepts of one document predict the 6th; documents are split 80/10/10
(train/val/test, seeded, article-disjoint) and the split is saved in the model. A checkpoint is written
every epoch (<model-dir>/checkpoint, removed when training ends); the best epoch by validation R@5 is kept.
After training, the last-context blend and the hubness penalty (model.json retrieval.hubness) are chosen
on validation; 'lvm tune' chooses them again for a trained model.

Options:
  --store <dir>          concept store to train on                                   (required)
  --extra-store <dir>    another store whose every document is training data; repeat for more.
                         It must share no article with --store (checked); the split, validation
                         and the benchmark stay those of --store alone
  --out <dir>            model directory to write                                    (required)
  --preset <p>           ${PRESETS.join(" | ")}                           [gru-edge]
  --hidden <n>           recurrent hidden size (gru, lstm)                          [preset]
  --layers <n>           layers                                                      [preset]
  --width <n>            transformer width; --heads <n>, --ffn <n> likewise          [preset]
  --no-residual          predict the next vector directly, not last context + delta
  --epochs <n>           maximum epochs                                              [8]
  --batch <n>            batch size                                                  [256]
  --lr <x>               peak Adam learning rate                                     [0.001]
  --warmup <n>           linear warm-up steps, then cosine decay                    [200]
  --min-lr <x>           final learning rate as a fraction of --lr                   [0.05]
  --loss <spec>          weighted sum, e.g. infonce | mse | cosine | infonce=1,mse=0.5 [infonce]
  --temperature <x>      InfoNCE temperature                                         [0.05]
  --negatives <n>        extra negatives per step sampled from training concepts     [4096]
  --no-hard-negatives    do not add the neighbouring concepts of each window as negatives
  --article-negatives <n>  per window, n more negatives drawn from its own article (outside
                         the window)                                                 [0 = off]
  --queue <n>            also use the targets of recent steps as negatives, up to n (a
                         queue emptied each epoch; the window's own article masked)     [0 = off]
  --dropout <x>          training dropout rate                                       [0]
  --patience <n>         early stop after n epochs without a better validation R@5   [2]
  --seed <n>             seed for the split, initialisation and shuffles             [1]
  --max-windows <n>      cap on training windows (quick runs)                        [all]
  --max-val <n>          cap on validation windows                                   [all]
  --resume               continue the interrupted run in --out with its saved options`,
  options: {
    store: { type: "string" },
    "extra-store": { type: "string", multiple: true },
    out: { type: "string" },
    preset: { type: "string" },
    hidden: { type: "string" },
    layers: { type: "string" },
    width: { type: "string" },
    heads: { type: "string" },
    ffn: { type: "string" },
    "no-residual": { type: "boolean" },
    epochs: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    warmup: { type: "string" },
    "min-lr": { type: "string" },
    loss: { type: "string" },
    temperature: { type: "string" },
    negatives: { type: "string" },
    "no-hard-negatives": { type: "boolean" },
    "article-negatives": { type: "string" },
    queue: { type: "string" },
    patience: { type: "string" },
    dropout: { type: "string" },
    seed: { type: "string" },
    "max-windows": { type: "string" },
    "max-val": { type: "string" },
    resume: { type: "boolean" },
  },
  async run(values) {
    if (typeof values.out !== "string") throw new UsageError("--out <model-dir> is required");
    const resume = values.resume === true;
    if (!resume && typeof values.store !== "string") throw new UsageError("--store <dir> is required");
    const preset = ((values.preset as string | undefined) ?? "gru-edge") as Preset;
    if (!PRESETS.includes(preset)) throw new UsageError(`--preset must be one of ${PRESETS.join(", ")}`);
    let loss: ReturnType<typeof parseLossWeights>;
    try {
      loss = parseLossWeights((values.loss as string | undefined) ?? "infonce");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const size = (name: string) => (values[name] === undefined ? undefined : intOption(values[name], name, 0));
    const options: TrainOptions = {
      store: (values.store as string | undefined) ?? "",
      extraStores: (values["extra-store"] as unknown as string[] | undefined) ?? [],
      out: values.out,
      preset,
      sizes: {
        hidden: size("hidden"),
        layers: size("layers"),
        width: size("width"),
        heads: size("heads"),
        ffn: size("ffn"),
        residual: values["no-residual"] ? false : undefined,
      },
      epochs: intOption(values.epochs, "epochs", 8),
      batch: intOption(values.batch, "batch", 256),
      lr: numberOption(values.lr, "lr", 1e-3),
      warmupSteps: intOption(values.warmup, "warmup", 200, 0),
      minLrFraction: numberOption(values["min-lr"], "min-lr", 0.05),
      temperature: numberOption(values.temperature, "temperature", 0.05),
      loss,
      negatives: intOption(values.negatives, "negatives", 4096, 0),
      hardNegatives: values["no-hard-negatives"] !== true,
      articleNegatives: intOption(values["article-negatives"], "article-negatives", 0, 0),
      queue: intOption(values.queue, "queue", 0, 0),
      seed: intOption(values.seed, "seed", 1, 0),
      patience: intOption(values.patience, "patience", 2),
      dropout: numberOption(values.dropout, "dropout", 0),
      maxTrainWindows: intOption(values["max-windows"], "max-windows", 0, 0),
      maxValWindows: intOption(values["max-val"], "max-val", 0, 0),
      blendGrid: DEFAULT_BLEND_GRID,
      hubnessGrid: DEFAULT_HUBNESS_GRID,
    };
    // One writer per model directory: a second train (or a quantize) into the same --out is refused.
    await mkdir(values.out, { recursive: true });
    await using _lock = await acquireWriteLock(values.out, { command: "lvm train" });
    for (const dir of [values.out, join(values.out, "checkpoint"), join(values.out, "checkpoint", "last")]) await removeTempFiles(dir);
    let progress: ReturnType<typeof createProgress> | null = null;
    let progressEpoch = -1;
    const result = await train(
      options,
      {
        log: (line) => {
          progress?.stop();
          progress = null;
          console.error(line);
        },
        onStep: (info) => {
          if (!progress || progressEpoch !== info.epoch) {
            progress?.stop();
            progress = createProgress(`epoch ${info.epoch + 1}/${info.epochs}`);
            progressEpoch = info.epoch;
          }
          progress.update(info.step, info.steps, {
            loss: info.loss.toFixed(4),
            lr: info.lr.toExponential(1),
            "val R@5": info.valR5 === null ? "-" : info.valR5.toFixed(2),
          });
        },
      },
      resume,
    );
    (progress as ReturnType<typeof createProgress> | null)?.stop();
    if (!result) return 1;
    const best = Math.max(...result.history.map((h) => h.valR5));
    console.log(
      `trained ${result.manifest.arch} in ${(result.wallSeconds / 60).toFixed(1)} min (${result.history.length} epochs${result.stoppedEarly ? ", stopped early" : ""}); best val R@5 ${best.toFixed(2)}; blend lastWeight ${result.manifest.blend?.lastWeight ?? 0}; wrote ${values.out}`,
    );
    return 0;
  },
};
