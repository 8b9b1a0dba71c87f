import { type EvalBackend, evaluate, jsonSummary } from "../eval/evaluate.ts";
import { markdownReport, replotReport, writeReport } from "../eval/report.ts";
import { ALL_BACKENDS } from "../lvm/runners/select-node.ts";
import { type Command, intOption, UsageError } from "./command.ts";

export const evalCommand: Command = {
  usage: `lvm eval --store <dir> --model <dir> [--model <dir> ...] [options]
       lvm eval --replot <dir>/report.json

Test windows come from the model's saved article-disjoint test split (on another store: every document
the model never saw). Retrieval is against every concept of the store with the 5 context concepts
excluded from the candidates; the research report's protocol (context kept) is a second column.
Baselines copy-last and mean-of-context are scored the same way, on each model's own test windows.
Every R@k and MRR gets a 95% interval from an article-clustered bootstrap (test articles resampled with
replacement), and so does the paired difference model - copy-last.

Options:
  --store <dir>         concept store                                              (required)
  --model <dir>         model directory (repeat to compare several)                (required)
  --json                print one JSON object to stdout (keys model, copyLast, meanContext, ...)
  --out <dir>           also write report.md, report.json and SVG plots there
  --replot <file>       only re-render the Markdown and SVG plots of a saved report<suffix>.json
                        beside it (report-int8.json -> report-int8.md, recall-vs-*-int8.svg)
  --rollout <n>         autoregressive rollout steps                                [10]
  --rollout-windows <n> windows rolled out                                          [200]
  --max-windows <n>     cap on test and validation windows                          [all]
  --backend <b>         tf (the float model on TF.js) | core-int8 | core-f32 (the WASM core,
                        as served; an INT8 file from 'lvm quantize' runs on either)   [tf]
                        or a server runner: ort-node, ort-node-int8, ort-wasm, ort-node-webgpu,
                        ort-node-webgpu-f16, ort-node-coreml, auto (a GPU that fails: the core)
  --exact               no approximate-index row, even when the store has index.hnsw
                        (with an index, a row "<model> via hnsw-core" gives what the server returns)
  --reference <b>       also run each model file on backend <b> and compare window by window
                        (e.g. --backend core-int8 --reference tf: an INT8 file against its own
                        weights dequantized to float32 on TF.js)
  --bootstrap <n>       bootstrap resamples (seed 1)                                   [1000]
  --part <p>            test (the benchmark) | val: score the saved validation split instead,
                        to compare training choices without touching test; with several
                        models on the same split, each gets a paired difference to the first [test]`,
  options: {
    store: { type: "string" },
    model: { type: "string", multiple: true },
    json: { type: "boolean" },
    out: { type: "string" },
    rollout: { type: "string" },
    "rollout-windows": { type: "string" },
    "max-windows": { type: "string" },
    backend: { type: "string" },
    exact: { type: "boolean" },
    replot: { type: "string" },
    reference: { type: "string" },
    bootstrap: { type: "string" },
    part: { type: "string" },
  },
  async run(values) {
    if (typeof values.replot === "string") {
      for (const path of await replotReport(values.replot)) console.error(`wrote ${path}`);
      return 0;
    }
    if (typeof values.store !== "string") throw new UsageError("--store <dir> is required");
    const models = values.model as unknown as string[] | undefined;
    if (!models || models.length === 0) throw new UsageError("--model <dir> is required");
    const json = values.json === true;
    const report = await evaluate({
      store: values.store,
      models,
      rolloutSteps: intOption(values.rollout, "rollout", 10, 0),
      rolloutWindows: intOption(values["rollout-windows"], "rollout-windows", 200),
      maxWindows: intOption(values["max-windows"], "max-windows", 0, 0),
      backend: parseEvalBackend(values.backend as string | undefined),
      exact: values.exact === true,
      part: parsePart(values.part),
      reference: values.reference === undefined ? undefined : parseEvalBackend(values.reference as string),
      bootstrap: { resamples: intOption(values.bootstrap, "bootstrap", 1000, 1), seed: 1, level: 0.95 },
      log: (line) => console.error(line),
    });
    if (typeof values.out === "string") await writeReport(values.out, report);
    if (json) console.log(JSON.stringify(jsonSummary(report)));
    else console.log(markdownReport(report));
    return 0;
  },
};

function parseEvalBackend(value: string | undefined): EvalBackend {
  if (value === undefined) return "tf";
  if (value === "tf" || value === "core-int8" || value === "core-f32") return value;
  if ((ALL_BACKENDS as readonly string[]).includes(value)) return value as EvalBackend;
  throw new UsageError(`--backend must be tf, core-int8, core-f32 or a runner (${ALL_BACKENDS.join(", ")}), got '${value}'`);
}

function parsePart(value: unknown): "test" | "val" {
  if (value === undefined || value === "test") return "test";
  if (value === "val") return "val";
  throw new UsageError(`--part must be test or val, got '${value}'`);
}
