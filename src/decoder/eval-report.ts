// `lvm eval-decoder`'s report: Markdown table, examples, and an SVG of mean cosine per refinement step with the
// retrieval row beside it (runtime-agnostic).
import { axis, bottomAxis, COLORS, el, leftAxis, svgDocument, text } from "../eval/svg.ts";
import type { DecoderEvalReport } from "./evaluate.ts";

const pct = (x: number | null) => (x === null ? "—" : `${(100 * x).toFixed(1)}%`);

export function decoderReportMarkdown(
  r: DecoderEvalReport,
  meta: { model: string; test: string; command: string; wallSeconds: number },
): string {
  const lines = [
    "# Decoder evaluation",
    "",
    `Model \`${meta.model}\`, ${r.sentences} held-out ${r.unit}s of \`${meta.test}\` (evenly spaced), retrieval over ${r.candidates} candidates.`,
    `Refinement: ${r.options.steps} steps, beam ${r.options.beam}, ${r.options.samples} samples per step (temperature ${r.options.temperature}), feedback ${r.options.feedback}, patience ${r.options.patience}, at most ${r.options.maxTokens} pieces per text. Wall time ${meta.wallSeconds} s.`,
    "",
    `Command: \`${meta.command}\``,
    "",
    "| decode | mean cosine | BLEU-4 words | BLEU-4 pieces | token F1 words | exact | closer than retrieval | words |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...r.rows.map(
      (row) =>
        `| ${row.name} | ${row.meanCosine.toFixed(3)} | ${row.bleuWords.toFixed(1)} | ${row.bleuPieces.toFixed(1)} | ${row.f1Words.toFixed(1)} | ${pct(row.exactMatch)} | ${pct(row.beatsRetrieval)} | ${row.meanWords.toFixed(1)} |`,
    ),
    "",
    `Cosine: of the text's re-embedding (core INT8 USE-lite) to the target vector. BLEU: corpus BLEU-4, Chen & Cherry method-1 smoothing (0.1 for an n-gram order with no match), on word tokens (\\w+ runs and single punctuation marks, case kept) and on SentencePiece pieces. Token F1: bag of word tokens, mean over ${r.unit}s.`,
    "",
    `Refinement wall time per ${r.unit}: mean ${r.refineMs.mean.toFixed(0)} ms, p50 ${r.refineMs.p50.toFixed(0)} ms. Greedy decoding on the runner, one vector at a time: ${r.greedyTokensPerSecond.toFixed(0)} pieces/s.`,
    "",
    "## Examples",
    "",
    "| true | retrieval | greedy | refined (steps) |",
    "|---|---|---|---|",
    ...r.examples.map(
      (e) =>
        `| ${cell(e.truth)} | ${cell(e.retrieval)} (${e.cosine.retrieval.toFixed(2)}) | ${cell(e.greedy)} | ${cell(e.refined)} (${e.cosine.refined.toFixed(2)}, ${e.steps}) |`,
    ),
    "",
  ];
  return lines.join("\n");
}

function cell(s: string): string {
  return s.replaceAll("|", "\\|");
}

/** Mean cosine after each refinement step (line), greedy and retrieval (horizontal lines). */
export function decoderReportSvg(r: DecoderEvalReport): string {
  const steps = r.rows.filter((row) => row.name.startsWith("step"));
  const retrieval = r.rows[0].meanCosine;
  const greedy = r.rows[1].meanCosine;
  const W = 560;
  const H = 320;
  const left = 60;
  const right = W - 20;
  const top = 40;
  const bottom = H - 50;
  const x = axis(
    steps.map((_, i) => i),
    [left, right],
    { pad: 0.02 },
  );
  const y = axis([...steps.map((s) => s.meanCosine), retrieval, greedy], [bottom, top], { pad: 0.1 });
  const path = steps.map((s, i) => `${i === 0 ? "M" : "L"}${x.position(i).toFixed(1)},${y.position(s.meanCosine).toFixed(1)}`).join(" ");
  const hline = (value: number, color: string, label: string) => [
    el("line", { x1: left, x2: right, y1: y.position(value), y2: y.position(value), stroke: color, "stroke-dasharray": "6 4" }),
    text(right - 4, y.position(value) - 6, `${label} ${value.toFixed(3)}`, { "text-anchor": "end", fill: color }),
  ];
  return svgDocument(W, H, "Mean re-embedding cosine to the target per refinement step, against retrieval and greedy decoding", [
    ...bottomAxis(x, bottom, top),
    ...leftAxis(y, left, right),
    ...hline(retrieval, COLORS[1], "retrieval"),
    ...hline(greedy, COLORS[2], "greedy"),
    el("path", { d: path, fill: "none", stroke: COLORS[0], "stroke-width": 2 }),
    ...steps.map((s, i) => el("circle", { cx: x.position(i), cy: y.position(s.meanCosine), r: 3.5, fill: COLORS[0] })),
    text(left, 24, `Decoder: mean cosine of the text to the target (${r.sentences} held-out ${r.unit}s)`, { "font-weight": 600 }),
    text((left + right) / 2, H - 12, "refinement step", { "text-anchor": "middle", fill: "#333" }),
  ]);
}
