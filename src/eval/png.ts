// A tiny dependency-free PNG writer and scatter-plot renderer (zlib from Node) for the eval report's plots.
import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes RGB pixels (width x height x 3) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type RGB
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// 3x5 pixel font: each glyph is 5 rows of 3 bits (most significant bit = left column).
const FONT: Record<string, number[]> = {
  "0": [7, 5, 5, 5, 7],
  "1": [2, 6, 2, 2, 7],
  "2": [7, 1, 7, 4, 7],
  "3": [7, 1, 7, 1, 7],
  "4": [5, 5, 7, 1, 1],
  "5": [7, 4, 7, 1, 7],
  "6": [7, 4, 7, 5, 7],
  "7": [7, 1, 1, 1, 1],
  "8": [7, 5, 7, 5, 7],
  "9": [7, 5, 7, 1, 7],
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [7, 4, 4, 4, 7],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4],
  G: [7, 4, 5, 5, 7],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 7],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5],
  N: [6, 5, 5, 5, 5],
  O: [7, 5, 5, 5, 7],
  P: [7, 5, 7, 4, 4],
  Q: [7, 5, 5, 7, 1],
  R: [6, 5, 6, 5, 5],
  S: [7, 4, 7, 1, 7],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 5, 2],
  W: [5, 5, 7, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  ".": [0, 0, 0, 0, 2],
  "-": [0, 0, 7, 0, 0],
  "@": [7, 5, 7, 4, 7],
  "%": [5, 1, 2, 4, 5],
  "/": [1, 1, 2, 4, 4],
  ",": [0, 0, 0, 2, 4],
  "(": [1, 2, 2, 2, 1],
  ")": [4, 2, 2, 2, 4],
  ":": [0, 2, 0, 2, 0],
  "=": [0, 7, 0, 7, 0],
  " ": [0, 0, 0, 0, 0],
};

type Rgb = [number, number, number];

class Canvas {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * 3).fill(255);
  }
  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    this.pixels.set(c, (yi * this.width + xi) * 3);
  }
  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    for (let y = Math.round(Math.min(y0, y1)); y <= Math.round(Math.max(y0, y1)); y++)
      for (let x = Math.round(Math.min(x0, x1)); x <= Math.round(Math.max(x0, x1)); x++) this.set(x, y, c);
  }
  dot(x: number, y: number, r: number, c: Rgb): void {
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dx * dx + dy * dy <= r * r) this.set(x + dx, y + dy, c);
  }
  dashed(x0: number, x1: number, y: number, c: Rgb): void {
    for (let x = x0; x <= x1; x++) if (Math.floor(x / 6) % 2 === 0) this.set(x, y, c);
  }
  text(x: number, y: number, s: string, c: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT[" "];
      for (let row = 0; row < 5; row++)
        for (let col = 0; col < 3; col++)
          if (glyph[row] & (4 >> col))
            this.rect(cx + col * scale, y + row * scale, cx + col * scale + scale - 1, y + row * scale + scale - 1, c);
      cx += 4 * scale;
    }
  }
}

export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
}

const COLORS: Rgb[] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [148, 103, 189],
  [255, 127, 14],
  [140, 86, 75],
];

/** A labelled scatter plot (log x axis when `logX`) with optional horizontal reference lines; returns PNG bytes. */
export function scatterPlot(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  lines?: { label: string; y: number }[];
  logX?: boolean;
}): Uint8Array {
  const W = 720;
  const H = 460;
  const m = { left: 70, right: 30, top: 50, bottom: 60 };
  const canvas = new Canvas(W, H);
  const black: Rgb = [0, 0, 0];
  const grey: Rgb = [150, 150, 150];
  const fx = (v: number) => (options.logX ? Math.log10(Math.max(v, 1e-9)) : v);
  const xs = options.points.map((p) => fx(p.x));
  const ys = [...options.points.map((p) => p.y), ...(options.lines ?? []).map((l) => l.y)];
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 1, x1 + 1];
  const padX = (x1 - x0) * 0.15;
  [x0, x1] = [x0 - padX, x1 + padX];
  let [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  y1 = y1 + (y1 - y0) * 0.15 + 1e-9;
  y0 = Math.max(0, y0);
  const px = (v: number) => m.left + ((fx(v) - x0) / (x1 - x0)) * (W - m.left - m.right);
  const py = (v: number) => H - m.bottom - ((v - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  canvas.rect(m.left, m.top, m.left, H - m.bottom, black);
  canvas.rect(m.left, H - m.bottom, W - m.right, H - m.bottom, black);
  for (let i = 0; i <= 5; i++) {
    const v = y0 + ((y1 - y0) * i) / 5;
    canvas.rect(m.left - 5, py(v), m.left, py(v), black);
    canvas.text(8, py(v) - 5, v.toFixed(0), black);
  }
  for (let i = 0; i <= 4; i++) {
    const t = x0 + ((x1 - x0) * i) / 4;
    const v = options.logX ? 10 ** t : t;
    const x = m.left + (i / 4) * (W - m.left - m.right);
    canvas.rect(x, H - m.bottom, x, H - m.bottom + 5, black);
    const label = v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}K` : v.toFixed(0);
    canvas.text(x - label.length * 4, H - m.bottom + 10, label, black);
  }
  canvas.text(m.left, 15, options.title, black, 3);
  canvas.text(W / 2 - options.xLabel.length * 4, H - 22, options.xLabel, black);
  canvas.text(m.left + 5, m.top - 14, options.yLabel, black);
  for (const line of options.lines ?? []) {
    canvas.dashed(m.left + 1, W - m.right, Math.round(py(line.y)), grey);
    canvas.text(W - m.right - line.label.length * 8, py(line.y) - 14, line.label, grey);
  }
  // Labels right of their point, moved down until they overlap no earlier label.
  const placed: [number, number, number, number][] = [];
  options.points.forEach((p, i) => {
    const c = COLORS[i % COLORS.length];
    canvas.dot(px(p.x), py(p.y), 5, c);
    const label = `${p.label} ${p.y.toFixed(1)}`;
    const x = px(p.x) + 9;
    let y = py(p.y) - 5;
    const overlaps = () => placed.some(([x0, y0, x1, y1]) => x < x1 && x + label.length * 8 > x0 && y < y1 && y + 12 > y0);
    while (overlaps()) y += 14;
    placed.push([x, y, x + label.length * 8, y + 12]);
    canvas.text(x, y, label, c);
  });
  return encodePng(W, H, canvas.pixels);
}
