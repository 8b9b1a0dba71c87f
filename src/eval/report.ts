// Markdown report and SVG plots for an EvaluationReport; re-rendering both from a saved report.json.
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { writeFilesAtomic } from "../fs/atomic-write-node.ts";
import type { Interval, RecallIntervals } from "./bootstrap.ts";
import type { EvaluationReport, ModelEvaluation, PredictorResult, RetrievalRow } from "./evaluate.ts";
import { jsonSummary } from "./evaluate.ts";
import { parseReportJson } from "./report-format.ts";
import { scatterPlot } from "./svg-scatter.ts";

const pct = (x: number) => x.toFixed(1);
const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;

function row(name: string, r: RetrievalRow): string {
  return `| ${name} | ${pct(r["r@1"])} | ${pct(r["r@5"])} | ${pct(r["r@10"])} | ${pct(r["r@20"])} | ${r.mrr.toFixed(3)} | ${r.cosine.toFixed(3)} |`;
}

const span = ([lo, hi]: Interval, f = pct) => `${f(lo)} to ${f(hi)}`;

function intervalRow(name: string, i: RecallIntervals): string {
  return `| ${name} | ${span(i["r@1"])} | ${span(i["r@5"])} | ${span(i["r@10"])} | ${span(i["r@20"])} | ${span(i.mrr, (x) => x.toFixed(3))} |`;
}

/** Whether every model was scored on the same test windows as the first (then one set of baseline rows serves all). */
function sameWindows(models: ModelEvaluation[]): boolean {
  const key = (m: ModelEvaluation) => JSON.stringify([m.testWindows, m.testDocuments, m.baselines?.copyLast.excluded ?? null]);
  return models.every((m) => key(m) === key(models[0]));
}

function intervalSection(models: ModelEvaluation[], part: "test" | "val"): string[] {
  const withIntervals = models.filter((m) => m.intervals);
  if (withIntervals.length === 0) return [];
  const first = withIntervals[0].intervals!;
  const shared = sameWindows(models);
  const lines = [
    "## 95% intervals (article-clustered bootstrap)",
    "",
    `Each of ${first.resamples.toLocaleString("en-US")} resamples (seed ${first.seed}) draws the ${part === "val" ? "validation" : "test"} articles with replacement (${first.articles} articles) and keeps all their windows; percentile intervals at ${first.level * 100}%. A difference is paired: the same resampled articles for both predictors. An interval of a difference above 0 means the lead is not an accident of which articles were drawn.`,
    "",
    "| predictor | R@1 | R@5 | R@10 | R@20 | MRR |",
    "|---|---|---|---|---|---|",
  ];
  if (shared) lines.push(intervalRow("copy last context", first.copyLast), intervalRow("mean of context", first.meanContext));
  for (const m of withIntervals) {
    const i = m.intervals!;
    if (!shared)
      lines.push(
        intervalRow(`copy last context (${m.name}'s windows)`, i.copyLast),
        intervalRow(`mean of context (${m.name}'s windows)`, i.meanContext),
      );
    lines.push(intervalRow(`**${m.name}**`, i.model), intervalRow(`**${m.name} - copy last** (paired)`, i.difference));
    if (i.versusFirst) lines.push(intervalRow(`${m.name} - ${i.versusFirst.name} (paired)`, i.versusFirst.difference));
    if (i.unblended && i.unblendedDifference)
      lines.push(
        intervalRow(`${m.name} without blend${m.hubness ? " (same hubness penalty)" : ""}`, i.unblended),
        intervalRow(`${m.name} without blend - copy last (paired)`, i.unblendedDifference),
      );
    if (i.copyLastHubness && i.copyLastHubnessDifference && m.hubness)
      lines.push(
        intervalRow(`copy last + hubness penalty ${m.hubness.weight} (${m.name}'s windows)`, i.copyLastHubness),
        intervalRow(`**${m.name} - copy last + hubness penalty** (paired)`, i.copyLastHubnessDifference),
      );
  }
  lines.push("");
  return lines;
}

function referenceSection(models: ModelEvaluation[]): string[] {
  const compared = models.filter((m) => m.reference);
  if (compared.length === 0) return [];
  return [
    "## The same model file on a reference backend",
    "",
    "Both backends run the weights of the same model directory (an INT8 file is dequantized to float32 for a float backend: this compares the INT8 kernels with their own dequantized weights, not with the float model the file was quantized from). Cosine between the two backends' predictions per test window; recall of the reference scored the same way; the difference paired by article.",
    "",
    "| model | reference | min cos | mean cos | reference R@1 | R@5 | R@10 | R@20 | model - reference R@5 (95%) |",
    "|---|---|---|---|---|---|---|---|---|",
    ...compared.map((m) => {
      const r = m.reference!;
      return `| ${m.name} | ${r.backend} | ${r.minCosine.toFixed(5)} | ${r.meanCosine.toFixed(5)} | ${pct(r.excluded["r@1"])} | ${pct(r.excluded["r@5"])} | ${pct(r.excluded["r@10"])} | ${pct(r.excluded["r@20"])} | ${m.test.excluded["r@5"] - r.excluded["r@5"] >= 0 ? "+" : ""}${(m.test.excluded["r@5"] - r.excluded["r@5"]).toFixed(2)} (${span(r.difference["r@5"], (x) => x.toFixed(2))}) |`;
    }),
    "",
  ];
}

function servedRolloutLines(m: ModelEvaluation): string[] {
  const r = m.servedRollout;
  if (!r || r.steps.length === 0) return [];
  const f = (x: number | null, d = 3) => (x === null ? "-" : x.toFixed(d));
  return [
    `**${m.name}**, as served (${r.windows} chains, stop cosine ${r.stopCosine}): mean chain length ${r.meanLength.toFixed(1)} of ${r.steps.length}`,
    "",
    `| step | ${r.steps.map((s) => s.step).join(" | ")} |`,
    `|---|${r.steps.map(() => "---").join("|")}|`,
    `| chains running | ${r.steps.map((s) => s.chains).join(" | ")} |`,
    `| cos to previous prediction | ${r.steps.map((s) => f(s.consecutiveCosine)).join(" | ")} |`,
    `| picked: cos to truth | ${r.steps.map((s) => f(s.cosineToTruth)).join(" | ")} |`,
    `| picked = truth, % | ${r.steps.map((s) => f(s.exact, 1)).join(" | ")} |`,
    "",
  ];
}

function extraRow(name: string, r: PredictorResult): string {
  return `| ${name} | ${r.margin.toFixed(3)} | ${pct(r.contrastiveAccuracy)} |`;
}

/** The plot files of a report; `suffix` tells apart several reports in one folder (report-int8 -> "-int8"). */
export function plotFiles(suffix = ""): { params: string; speed: string } {
  return { params: `recall-vs-params${suffix}.svg`, speed: `recall-vs-speed${suffix}.svg` };
}

export function markdownReport(report: EvaluationReport, plots = plotFiles()): string {
  const { models, baselines, store } = report;
  const shared = sameWindows(models);
  const baselineRows = (protocol: "excluded" | "included") =>
    shared
      ? [row("copy last context", baselines.copyLast[protocol]), row("mean of context", baselines.meanContext[protocol])]
      : models.flatMap((m) => {
          const b = m.baselines ?? baselines;
          return [
            row(`copy last context (${m.name}'s windows)`, b.copyLast[protocol]),
            row(`mean of context (${m.name}'s windows)`, b.meanContext[protocol]),
          ];
        });
  const changed = models.filter((m) => m.storeChange);
  const lines: string[] = [];
  const header = "| predictor | R@1 | R@5 | R@10 | R@20 | MRR | cos to target |\n|---|---|---|---|---|---|---|";
  lines.push(
    "# LVM evaluation",
    "",
    `Store \`${store.dir}\`: ${store.count.toLocaleString("en-US")} concepts, ${store.documents} documents, encoder ${store.encoder}. ` +
      `${baselines.testWindows} ${report.part === "val" ? "VALIDATION windows (not the benchmark: for choices between models)" : "test windows"} (5 context concepts -> the 6th, one article each) from the model's article-disjoint ${report.part === "val" ? "validation" : "test"} split` +
      `${models.every((m) => m.sameStore) ? "" : " (store differs from the training store: every document unseen in training)"}. ` +
      `Index = every concept of the store. Generated ${report.createdAt} in ${report.seconds.toFixed(0)} s.`,
    "",
    ...(shared ? [] : ["The models were scored on different test windows (other splits): each has its own baseline rows.", ""]),
    ...changed.map((m) => `**Warning**: ${m.name}: the store changed since the model's split was made (${m.storeChange}).\n`),
    "## 2.1 Top-k retrieval, context excluded from the candidates",
    "",
    "Recall in percent; MRR as a fraction. The model rows use the shipped scoring (blend with the last context, weight chosen on validation).",
    "",
    ...(models.some((m) => m.hubness)
      ? [
          "A model with a hubness penalty (model.json retrieval.hubness, chosen on validation) ranks stored concepts by cosine - weight * hub(c), hub(c) = c's mean cosine to its nearest stored concepts; so do its row without blend and its index row. Copy last and mean of context stay plain cosine (comparable with older reports); \"copy last + hubness penalty\" is copy last ranked with the model's penalty, so the model's lead over it is what the model adds beyond the penalty.",
          "",
        ]
      : []),
    header,
    ...baselineRows("excluded"),
    ...models.map((m) =>
      row(`**${m.name}** (${m.arch}, blend ${m.blend}${m.hubness ? `, hubness ${m.hubness.weight}` : ""})`, m.test.excluded),
    ),
    ...models
      .filter((m) => m.hubness && m.baselines?.copyLastHubness)
      .map((m) => row(`copy last + hubness penalty ${m.hubness?.weight} (${m.name}'s windows)`, m.baselines!.copyLastHubness!.excluded)),
    ...models
      .filter((m) => m.testUnblended)
      .map((m) =>
        row(`${m.name} without blend${m.hubness ? " (same hubness penalty)" : ""}`, (m.testUnblended as PredictorResult).excluded),
      ),
    ...models
      .filter((m) => m.testIndexed)
      .map((m) => row(`${m.name} via ${m.testIndexed?.index} (ef ${m.testIndexed?.ef}, top 20)`, m.testIndexed!.excluded)),
    "",
    ...intervalSection(models, report.part ?? "test"),
    ...referenceSection(models),
    "## 2.1 bis: the research report's protocol (context left among the candidates)",
    "",
    "Copy-last scores R@1 = 0 here by construction; this column is only for comparison with the report.",
    "",
    header,
    ...baselineRows("included"),
    ...models.map((m) => row(m.name, m.test.included)),
    "",
    "## Direction and contrast",
    "",
    "Margin = mean cos(pred, next) - cos(pred, last context). Contrastive accuracy (LCM paper) = % of the other targets of its batch (1,024 shuffled test windows) further from the prediction than its own target.",
    "",
    "| predictor | margin | contrastive accuracy % |",
    "|---|---|---|",
    extraRow("copy last context", baselines.copyLast),
    extraRow("mean of context", baselines.meanContext),
    ...models.map((m) => extraRow(m.name, m.test)),
    "",
    "## 1.1 Load",
    "",
    "| model | arch | config | parameters | best epoch / run | size on disk | load ms |",
    "|---|---|---|---|---|---|---|",
    ...models.map((m) => {
      const { arch: _a, dim: _d, context: _c, ...sizes } = m.config as unknown as Record<string, unknown>;
      return `| ${m.name} | ${m.arch} | ${Object.entries(sizes)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ", ",
        )} | ${millions(m.load.parameters)} | ${m.load.epoch ?? "?"} / ${m.load.epochsRun ?? "?"} | ${(m.load.sizeBytes / 1e6).toFixed(1)} MB | ${m.load.loadMs.toFixed(0)} |`;
    }),
    "",
    "## 1.2 Validation (model output before the blend, validation split)",
    "",
    "| model | windows | MSE | cosine | InfoNCE (in-batch 256) |",
    "|---|---|---|---|---|",
    ...models.map(
      (m) =>
        `| ${m.name} | ${m.validation.windows} | ${m.validation.mse.toExponential(3)} | ${m.validation.cosine.toFixed(4)} | ${m.validation.infoNce.toFixed(3)} (T ${m.validation.temperature}) |`,
    ),
    "",
    "## 1.3 Throughput (TF.js WASM backend, one thread; plain-TypeScript reference at batch 1 for comparison)",
    "",
    "| model | batch 32 ms | batch 32 samples/s | batch 1 ms | batch 1 samples/s | reference batch 1 ms |",
    "|---|---|---|---|---|---|",
    ...models.map(
      (m) =>
        `| ${m.name} | ${m.throughput.batch32.msPerBatch.toFixed(2)} | ${m.throughput.batch32.samplesPerSecond.toFixed(0)} | ${m.throughput.batch1.msPerBatch.toFixed(2)} | ${m.throughput.batch1.samplesPerSecond.toFixed(0)} | ${m.throughput.referenceBatch1Ms.toFixed(2)} |`,
    ),
    "",
    "## Autoregressive rollout",
    "",
    `${models.some((m) => m.servedRollout) ? "Two ways. Raw: each predicted vector is fed back as the newest context concept (no stored concept is picked)." : "Each prediction is fed back as the newest context concept."} Consecutive cosine = mean cos(generated_t, generated_t-1) (step 1: vs the last real concept); from step 2 on, the rollout stops when it exceeds 0.9 (degeneration: the generator repeats itself). Cos to truth = mean cos to the real concept t steps ahead where the article has one.`,
    "",
  );
  for (const m of models) {
    lines.push(
      `**${m.name}** (${m.rollout.windows} windows): ${m.rollout.degeneratedAtStep === null ? "no degeneration" : `degenerated at step ${m.rollout.degeneratedAtStep}`}`,
      "",
      `| step | ${m.rollout.steps.map((s) => s.step).join(" | ")} |`,
      `|---|${m.rollout.steps.map(() => "---").join("|")}|`,
      `| consecutive cos | ${m.rollout.steps.map((s) => s.consecutiveCosine.toFixed(3)).join(" | ")} |`,
      `| cos to truth | ${m.rollout.steps.map((s) => (s.cosineToTruth === null ? "-" : s.cosineToTruth.toFixed(3))).join(" | ")} |`,
      "",
    );
  }
  if (models.some((m) => m.servedRollout)) {
    lines.push(
      "As served (`/v1/generate`, src/predict/generate.ts): each step picks the stored concept nearest the prediction that is neither a context row nor already in the chain and feeds its stored vector back; a chain stops when a prediction has cosine above the stop cosine with the previous one. Picked = truth: the pick is exactly the article's real concept that many steps ahead.",
      "",
      ...models.flatMap(servedRolloutLines),
    );
  }
  lines.push("## Plots", "", `![recall vs parameters](${plots.params})`, "", `![recall vs speed](${plots.speed})`, "");
  return lines.join("\n");
}

/** The two plots of a report as SVG documents: test R@5 against parameters and against batch-32 speed. */
export function reportPlots(report: EvaluationReport): { params: string; speed: string } {
  const lines = [
    { label: "copy last context", y: report.baselines.copyLast.excluded["r@5"] },
    { label: "mean of context", y: report.baselines.meanContext.excluded["r@5"] },
  ];
  const yLabel = "test recall at 5, % (context excluded)";
  const yError = (m: ModelEvaluation) => m.intervals?.model["r@5"];
  return {
    params: scatterPlot({
      title: "Recall at 5 vs parameters",
      xLabel: "parameters",
      yLabel,
      points: report.models.map((m) => ({ label: m.name, x: m.load.parameters, y: m.test.excluded["r@5"], yError: yError(m) })),
      lines,
    }),
    speed: scatterPlot({
      title: "Recall at 5 vs speed",
      xLabel: "samples/s at batch 32",
      yLabel,
      points: report.models.map((m) => ({
        label: m.name,
        x: m.throughput.batch32.samplesPerSecond,
        y: m.test.excluded["r@5"],
        yError: yError(m),
      })),
      lines,
    }),
  };
}

/** Writes report.json, report.md, recall-vs-params.svg and recall-vs-speed.svg into `dir`. */
export async function writeReport(dir: string, report: EvaluationReport): Promise<void> {
  const files = plotFiles();
  const plots = reportPlots(report);
  // report.json last: what it links is on disk before it is.
  await writeFilesAtomic(
    dir,
    [
      { name: "report.md", data: markdownReport(report, files) },
      { name: files.params, data: plots.params },
      { name: files.speed, data: plots.speed },
      { name: "report.json", data: `${JSON.stringify(jsonSummary(report), null, 1)}\n` },
    ],
    { mkdir: true },
  );
}

/**
 * Re-renders the Markdown and the plots of a saved report (`<dir>/report<suffix>.json`, as written by
 * writeReport) beside it, without rerunning the evaluation; returns the paths written.
 */
export async function replotReport(jsonPath: string): Promise<string[]> {
  const name = basename(jsonPath);
  const suffix = /^report(.*)\.json$/.exec(name)?.[1];
  if (suffix === undefined) throw new Error(`${jsonPath}: expected a file named report<suffix>.json (as 'lvm eval --out' writes)`);
  const report = parseReportJson(await readFile(jsonPath, "utf8"), name);
  const dir = dirname(jsonPath);
  const files = plotFiles(suffix);
  const plots = reportPlots(report);
  const written = [
    { name: `report${suffix}.md`, data: markdownReport(report, files) },
    { name: files.params, data: plots.params },
    { name: files.speed, data: plots.speed },
  ];
  await writeFilesAtomic(dir, written);
  return written.map((f) => join(dir, f.name));
}
