import { tune } from "../train/tune.ts";
import type { BlendSweepEntry } from "../train/validate.ts";
import { type Command, intOption, UsageError } from "./command.ts";

export const tuneCommand: Command = {
  usage: `lvm tune --model <dir> --store <dir> [--out <dir>] [options]

Chooses a trained model's last-context blend (blend.lastWeight) and hubness penalty
(retrieval.hubness: stored concepts ranked by cosine - weight * hub, hub = mean cosine to their
10 nearest stored concepts) again, on the model's saved validation split: every blend weight x
penalty weight, the best mean of R@1/5/10/20 with the context excluded (as 'lvm train' does).
The store must be the model's training store. Rewrites model.json (weights.bin is kept as it is);
works for INT8 files from 'lvm quantize' (scored with their weights dequantized, on TF.js).
Prints the sweep.

Options:
  --model <dir>      trained model directory                                     (required)
  --store <dir>      the concept store it was trained on                         (required)
  --out <dir>        write the tuned model here instead of over --model
  --max-val <n>      cap on validation windows                     [the training run's cap]
  --blend-grid <l>   blend weights, comma-separated                [0,0.1,...,0.8]
  --hubness-grid <l> penalty weights, comma-separated              [0,0.1,...,1]`,
  options: {
    model: { type: "string" },
    store: { type: "string" },
    out: { type: "string" },
    "max-val": { type: "string" },
    "blend-grid": { type: "string" },
    "hubness-grid": { type: "string" },
  },
  async run(values) {
    if (typeof values.model !== "string" || typeof values.store !== "string")
      throw new UsageError("--model <dir> and --store <dir> are required");
    const result = await tune({
      model: values.model,
      store: values.store,
      out: values.out as string | undefined,
      maxValWindows: values["max-val"] === undefined ? undefined : intOption(values["max-val"], "max-val", 0, 0),
      blendGrid: parseGrid(values["blend-grid"], "blend-grid", 1),
      hubnessGrid: parseGrid(values["hubness-grid"], "hubness-grid", 4),
      log: (line) => console.error(line),
    });
    console.log(sweepTable(result.sweep, result.lastWeight, result.hubnessWeight));
    const before = `lastWeight ${result.before.lastWeight}, hubness ${result.before.hubness ? result.before.hubness.weight : "none"}`;
    console.log(
      `\nchosen on ${result.valWindows} validation windows: lastWeight ${result.lastWeight}, hubness weight ${result.hubnessWeight} (mean of R@1/5/10/20 ${result.score.toFixed(2)}; was ${before}); hub values ${result.seconds.hubness.toFixed(0)}s, sweep ${result.seconds.sweep.toFixed(0)}s\nwrote ${result.out}/model.json`,
    );
    return 0;
  },
};

function parseGrid(value: string | boolean | undefined, name: string, max: number): number[] | undefined {
  if (value === undefined) return undefined;
  const grid = String(value)
    .split(",")
    .map((x) => Number(x.trim()));
  if (grid.length === 0 || grid.some((x) => !Number.isFinite(x) || x < 0 || x > max))
    throw new UsageError(`--${name} must be comma-separated numbers in [0, ${max}], got '${value}'`);
  return grid;
}

/** The sweep as a Markdown table, the chosen row marked. */
export function sweepTable(sweep: BlendSweepEntry[], lastWeight: number, hubnessWeight: number): string {
  const pct = (x: number) => x.toFixed(2);
  const lines = ["| lastWeight | hubness | R@1 | R@5 | R@10 | R@20 | MRR | mean R@1-20 |", "|---:|---:|---:|---:|---:|---:|---:|---:|"];
  for (const e of sweep) {
    const mark = e.lastWeight === lastWeight && e.hubnessWeight === hubnessWeight ? " *" : "";
    const mean = (e["r@1"] + e["r@5"] + e["r@10"] + e["r@20"]) / 4;
    lines.push(
      `| ${e.lastWeight}${mark} | ${e.hubnessWeight} | ${pct(e["r@1"])} | ${pct(e["r@5"])} | ${pct(e["r@10"])} | ${pct(e["r@20"])} | ${e.mrr.toFixed(4)} | ${pct(mean)} |`,
    );
  }
  return lines.join("\n");
}
