import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replotReport } from "../../src/eval/report.ts";
import { axis, escapeXml } from "../../src/eval/svg.ts";
import { scatterPlot } from "../../src/eval/svg-scatter.ts";

/** Throws unless every tag is closed in order, attributes are quoted and text has no raw < or bare &. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const tokens = svg.split(/(<[^>]*>)/);
  for (const token of tokens) {
    if (!token.startsWith("<")) {
      if (/[<>]|&(?!(amp|lt|gt|quot|#39);)/.test(token)) throw new Error(`raw markup character in text: ${token}`);
      continue;
    }
    const m = /^<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (!m) throw new Error(`malformed tag: ${token}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else if (!selfClose) stack.push(name);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join(">, <")}>`);
  if (!svg.startsWith("<svg ")) throw new Error("not an <svg> root");
}

const tickLabels = (svg: string, which: "x" | "y") =>
  [...svg.matchAll(new RegExp(`<text [^>]*class="tick ${which}"[^>]*>([^<]*)</text>`, "g"))].map((m) => m[1]);

// The shipped dev1k report: parameters 1.84M..3.41M, R@5 29.1..30.9, baselines 24.9 and 20.1.
const points = [
  { label: "gru-edge", x: 1838592, y: 30.89 },
  { label: "lstm", x: 2051072, y: 29.1 },
  { label: "transformer", x: 1844224, y: 30.27 },
  { label: "gru", x: 3414528, y: 29.36 },
];
const lines = [
  { label: "copy last context", y: 24.94 },
  { label: "mean of context", y: 20.09 },
];

describe("SVG scatter plot", () => {
  it("is well-formed and has nice ticks for a known data range", () => {
    const svg = scatterPlot({ title: "Recall at 5 vs parameters", xLabel: "parameters", yLabel: "R@5 %", points, lines });
    assertWellFormed(svg);
    expect(tickLabels(svg, "x")).toEqual(["1.5M", "2M", "2.5M", "3M", "3.5M", "4M"]);
    expect(tickLabels(svg, "y")).toEqual(["0", "5", "10", "15", "20", "25", "30", "35"]);
    expect(svg).toContain(">parameters</text>");
    for (const p of points) expect(svg).toContain(`${p.label}<tspan`);
  });

  it("labels speeds with SI prefixes and a single point still gets a nice axis", () => {
    const speed = scatterPlot({
      title: "t",
      xLabel: "samples/s",
      yLabel: "y",
      points: points.map((p, i) => ({ ...p, x: [1840, 1295, 1020, 931][i] })),
    });
    expect(tickLabels(speed, "x")).toEqual(["800", "1k", "1.2k", "1.4k", "1.6k", "1.8k", "2k"]);
    const one = scatterPlot({ title: "t", xLabel: "x", yLabel: "y", points: [{ label: "int8", x: 3511.48, y: 30.94 }], lines });
    assertWellFormed(one);
    expect(tickLabels(one, "x")).toEqual(["3.2k", "3.3k", "3.4k", "3.5k", "3.6k", "3.7k", "3.8k"]);
  });

  it("uses a log x axis with decade ticks when the values span decades", () => {
    const ax = axis([2e4, 3e6], [0, 400], { log: true, si: true });
    expect(ax.ticks.map((t) => t.label)).toContain("100k");
    expect(ax.ticks.map((t) => t.label)).toContain("1M");
    const svg = scatterPlot({ title: "t", xLabel: "parameters", yLabel: "y", points: [points[0], { label: "big", x: 2e8, y: 40 }] });
    expect(svg).toContain("parameters (log scale)");
    expect(tickLabels(svg, "x")).toEqual(expect.arrayContaining(["1M", "10M", "100M"]));
  });

  it("escapes text", () => {
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe("a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
    const svg = scatterPlot({ title: "<script>&", xLabel: 'x "quoted"', yLabel: "y", points: [{ label: "a<b>&c", x: 1, y: 2 }] });
    assertWellFormed(svg);
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("a&lt;b&gt;&amp;c");
  });

  it("the well-formedness check itself rejects broken markup", () => {
    expect(() => assertWellFormed('<svg a="1"><g></svg>')).toThrow(/unbalanced/);
    expect(() => assertWellFormed('<svg a="1"><text>a < b</text></svg>')).toThrow();
    expect(() => assertWellFormed('<svg a="1"><text>a & b</text></svg>')).toThrow(/raw markup/);
  });
});

describe("replotReport", () => {
  it("re-renders the Markdown and SVG plots of a shipped report beside a copy of its JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "replot-"));
    try {
      await writeFile(join(dir, "report-int8.json"), await readFile("models/reports/report.json"));
      const written = await replotReport(join(dir, "report-int8.json"));
      expect(written.map((p) => p.slice(dir.length + 1))).toEqual([
        "report-int8.md",
        "recall-vs-params-int8.svg",
        "recall-vs-speed-int8.svg",
      ]);
      const md = await readFile(join(dir, "report-int8.md"), "utf8");
      expect(md).toContain("![recall vs parameters](recall-vs-params-int8.svg)");
      expect(md).toBe((await readFile("models/reports/report.md", "utf8")).replaceAll(".svg", "-int8.svg"));
      assertWellFormed(await readFile(join(dir, "recall-vs-speed-int8.svg"), "utf8"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("names the file and the field of a malformed report", async () => {
    const dir = await mkdtemp(join(tmpdir(), "replot-"));
    try {
      const report = JSON.parse(await readFile("models/reports/report.json", "utf8"));
      report.models[1].load.parameters = "2M";
      await writeFile(join(dir, "report.json"), JSON.stringify(report));
      await expect(replotReport(join(dir, "report.json"))).rejects.toThrow(
        'report.json: models.1.load.parameters: expected a number, got "2M"',
      );
      await expect(replotReport(join(dir, "other.json"))).rejects.toThrow(/expected a file named report<suffix>\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
