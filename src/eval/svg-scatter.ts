// A labelled scatter plot as an SVG string: one coloured dot per point (with a vertical error bar where the
// point has an interval), dashed horizontal reference lines, nice ticks (d3-scale), axis titles and a legend
// that gives each value (and its interval).
import { type Axis, axis, bottomAxis, COLORS, el, escapeXml, leftAxis, svgDocument, text } from "./svg.ts";

export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
  /** [low, high] drawn as a vertical error bar with caps, and given in the legend. */
  yError?: [number, number];
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  /** Horizontal reference lines (baselines). */
  lines?: { label: string; y: number }[];
  /** Log x axis; by default only when the x values span at least a decade. */
  logX?: boolean;
  /** The y axis starts at zero (default true). */
  yFromZero?: boolean;
  /** How a y value is printed in the legend (default one decimal). */
  formatY?: (y: number) => string;
}

const PLOT_WIDTH = 460;
const H = 440;
const M = { left: 72, top: 52, bottom: 62 };
/** Rough width of a 13 px sans-serif character, to size the legend column. */
const CHAR_WIDTH = 7.5;

/** The scatter plot as a standalone SVG document. */
export function scatterPlot(options: ScatterOptions): string {
  const { points, lines = [], yFromZero = true, formatY = (y: number) => y.toFixed(1) } = options;
  if (points.length === 0) throw new Error("scatterPlot: no points");
  const entries = [
    ...points.map((p, i) => ({
      label: p.label,
      value: p.yError ? `${formatY(p.y)} [${formatY(p.yError[0])}, ${formatY(p.yError[1])}]` : formatY(p.y),
      color: COLORS[i % COLORS.length],
      dashed: false,
    })),
    ...lines.map((l) => ({ label: l.label, value: formatY(l.y), color: "#777", dashed: true })),
  ];
  const legendWidth = 40 + CHAR_WIDTH * Math.max(...entries.map((e) => e.label.length + e.value.length + 1));
  const W = M.left + PLOT_WIDTH + legendWidth;
  const xs = points.map((p) => p.x);
  const logX = options.logX ?? (Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 10);
  const x: Axis = axis(xs, [M.left, M.left + PLOT_WIDTH], { log: logX, pad: 0.08, si: true });
  const y: Axis = axis([...points.flatMap((p) => [p.y, ...(p.yError ?? [])]), ...lines.map((l) => l.y)], [H - M.bottom, M.top], {
    zero: yFromZero,
    count: 8,
  });
  const right = M.left + PLOT_WIDTH;
  const bottom = H - M.bottom;
  const body: string[] = [
    text(M.left, 28, options.title, { "font-size": 17, "font-weight": 600, fill: "#111" }),
    ...leftAxis(y, M.left, right),
    ...bottomAxis(x, bottom, M.top),
    text((M.left + right) / 2, H - 16, `${options.xLabel}${logX ? " (log scale)" : ""}`, {
      "text-anchor": "middle",
      "font-size": 14,
      fill: "#111",
    }),
    text(0, 0, options.yLabel, {
      transform: `translate(20 ${(M.top + bottom) / 2}) rotate(-90)`,
      "text-anchor": "middle",
      "font-size": 14,
      fill: "#111",
    }),
    ...lines.map((l) =>
      el("line", { x1: M.left, x2: right, y1: y.position(l.y), y2: y.position(l.y), stroke: "#777", "stroke-dasharray": "6 4" }),
    ),
    ...points.filter((p) => p.yError).map((p) => errorBar(x.position(p.x), y.position(p.yError![0]), y.position(p.yError![1]))),
    ...points.map((p, i) =>
      el("circle", { cx: x.position(p.x), cy: y.position(p.y), r: 6, fill: COLORS[i % COLORS.length], stroke: "white" }),
    ),
    ...legend(entries, right + 24, M.top + 6),
  ];
  return svgDocument(W, H, options.title, body);
}

/** A vertical bar from y1 to y2 at x with 10 px caps. */
function errorBar(x: number, y1: number, y2: number): string {
  const stroke = { stroke: "#333", "stroke-width": 1.5 };
  return [
    el("line", { x1: x, x2: x, y1, y2, ...stroke, class: "error-bar" }),
    el("line", { x1: x - 5, x2: x + 5, y1, y2: y1, ...stroke }),
    el("line", { x1: x - 5, x2: x + 5, y1: y2, y2, ...stroke }),
  ].join("");
}

function legend(entries: { label: string; value: string; color: string; dashed: boolean }[], x: number, y: number): string[] {
  return entries.map((e, i) => {
    const cy = y + i * 22;
    const mark = e.dashed
      ? el("line", { x1: x - 8, x2: x + 8, y1: cy, y2: cy, stroke: e.color, "stroke-dasharray": "6 4", "stroke-width": 1.5 })
      : el("circle", { cx: x, cy, r: 6, fill: e.color });
    const value = el("tspan", { dx: 8, "font-weight": 600 }, escapeXml(e.value));
    return `${mark}${el("text", { x: x + 16, y: cy + 4, fill: "#222" }, `${escapeXml(e.label)}${value}`)}`;
  });
}
