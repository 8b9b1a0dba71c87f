// SVG building blocks for the eval plots: escaped text, elements as strings (no DOM), and axes whose
// ticks come from d3-scale (.nice() domains, .ticks(), .tickFormat()).
import { format as d3format } from "d3-format";
import { scaleLinear, scaleLog } from "d3-scale";

export const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
export const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for an SVG text node or attribute value. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

type Attrs = Record<string, string | number | undefined>;

/** One element as a string; `children` is markup (already escaped), attribute values are escaped here. */
export function el(tag: string, attrs: Attrs, children?: string): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === "number" ? String(round(v)) : (v as string))}"`)
    .join("");
  return children === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${children}</${tag}>`;
}

/** A <text> element with escaped content. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el("text", { x, y, ...attrs }, escapeXml(content));
}

/** The whole document: its title (what screen readers and tooltips say), white background, one font for every text. */
export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return `${el(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      "font-family": FONT,
      "font-size": 13,
      role: "img",
    },
    ["", el("title", {}, escapeXml(title)), el("rect", { width, height, fill: "white" }), ...body].join("\n"),
  )}\n`;
}

const round = (v: number) => Math.round(v * 100) / 100;

/** A numeric axis: position of a value in pixels, and the ticks with their labels. */
export interface Axis {
  position: (value: number) => number;
  ticks: { value: number; label: string }[];
  /** Pixels at the two ends of the (niced) domain. */
  range: [number, number];
  log: boolean;
}

/**
 * An axis over `values` mapped onto [from, to] pixels. The domain is widened by `pad` (a fraction of the
 * span, or of the value when all values are equal), optionally includes zero, then rounded outward to
 * nice values; ticks and labels are d3's (SI prefixes when `si`, e.g. 2M, 2.5M). `log` gives a log scale,
 * for data spanning several decades.
 */
export function axis(
  values: number[],
  range: [number, number],
  options: { log?: boolean; zero?: boolean; pad?: number; count?: number; si?: boolean } = {},
): Axis {
  const { log = false, zero = false, pad = 0.05, count = 6, si = false } = options;
  let lo = Math.min(...values, ...(zero ? [0] : []));
  let hi = Math.max(...values);
  if (log) {
    const span = hi / lo > 1.0001 ? (hi / lo) ** pad : 2;
    [lo, hi] = [lo / span, hi * span];
    const scale = scaleLog().domain([lo, hi]).range(range).nice();
    // d3's log tickFormat drops labels that would crowd (returns ""), keeping 1, 2, 5 and the decades.
    const format = scale.tickFormat(count, si ? "~s" : ",~g");
    return {
      position: (v) => scale(v),
      ticks: scale
        .ticks(count)
        .map((value) => ({ value, label: format(value) }))
        .filter((t) => t.label !== ""),
      range,
      log,
    };
  }
  const span = hi - lo > 1e-12 * Math.max(1, Math.abs(hi)) ? hi - lo : Math.abs(hi) || 1;
  if (!(zero && lo === 0)) lo -= span * pad;
  hi += span * pad;
  if (zero && lo < 0 && Math.min(...values) >= 0) lo = 0;
  const scale = scaleLinear().domain([lo, hi]).range(range).nice(count);
  // "~s": SI prefix without trailing zeros (800, 1.2k, 2.5M); tickFormat would give every label the
  // precision of the largest (0.8k).
  const format = si ? d3format("~s") : scale.tickFormat(count);
  return { position: (v) => scale(v), ticks: scale.ticks(count).map((value) => ({ value, label: format(value) })), range, log };
}

/** The x axis drawn at pixel row `y`: line, tick marks, labels below, light vertical grid up to `top`. */
export function bottomAxis(x: Axis, y: number, top: number): string[] {
  return [
    ...x.ticks.map((t) => el("line", { x1: x.position(t.value), x2: x.position(t.value), y1: top, y2: y, stroke: "#e5e5e5" })),
    el("line", { x1: x.range[0], x2: x.range[1], y1: y, y2: y, stroke: "#333" }),
    ...x.ticks.map((t) =>
      [
        el("line", { x1: x.position(t.value), x2: x.position(t.value), y1: y, y2: y + 5, stroke: "#333" }),
        text(x.position(t.value), y + 19, t.label, { class: "tick x", "text-anchor": "middle", fill: "#333" }),
      ].join(""),
    ),
  ];
}

/** The y axis drawn at pixel column `x`: line, tick marks, labels left, light horizontal grid up to `right`. */
export function leftAxis(y: Axis, x: number, right: number): string[] {
  return [
    ...y.ticks.map((t) => el("line", { x1: x, x2: right, y1: y.position(t.value), y2: y.position(t.value), stroke: "#e5e5e5" })),
    el("line", { x1: x, x2: x, y1: y.range[0], y2: y.range[1], stroke: "#333" }),
    ...y.ticks.map((t) =>
      [
        el("line", { x1: x - 5, x2: x, y1: y.position(t.value), y2: y.position(t.value), stroke: "#333" }),
        text(x - 8, y.position(t.value) + 4, t.label, { class: "tick y", "text-anchor": "end", fill: "#333" }),
      ].join(""),
    ),
  ];
}
