import { existsSync } from "node:fs";
import type { MetricsSummary } from "../db/metrics.ts";
import { DEFAULT_METRICS_PATH, openNodeMetrics } from "../db/sqlite-node.ts";
import { type Command, intOption, UsageError } from "./command.ts";

export const metricsCommand: Command = {
  usage: `lvm metrics [--db <file>] [--window <minutes>] [--json]
lvm metrics --purge [--before <iso-date>] [--db <file>]

Percentiles are nearest-rank over the requests that started inside the window; times are milliseconds.

Options:
  --db <file>          metrics database written by \`lvm serve\`             [${DEFAULT_METRICS_PATH}]
  --window <minutes>   how far back to look                                [60]
  --json               print the summary as JSON
  --purge              delete recorded metrics (all, or those before --before)
  --before <iso-date>  with --purge: only rows recorded before this time, e.g. 2026-11-01T00:00:00Z`,
  options: {
    db: { type: "string" },
    window: { type: "string" },
    json: { type: "boolean" },
    purge: { type: "boolean" },
    before: { type: "string" },
  },
  async run(values) {
    const path = (values.db as string | undefined) ?? DEFAULT_METRICS_PATH;
    const purge = values.purge === true;
    if (values.before !== undefined && !purge) throw new UsageError("--before only goes with --purge");
    if (purge && (values.window !== undefined || values.json)) throw new UsageError("--purge takes no --window or --json");
    let before: number | undefined;
    if (typeof values.before === "string") {
      before = Date.parse(values.before);
      if (Number.isNaN(before)) throw new UsageError(`--before must be an ISO date or date-time, got '${values.before}'`);
    }
    const windowMinutes = intOption(values.window, "window", 60);
    if (!existsSync(path)) throw new Error(`no metrics database at ${path} (\`lvm serve\` creates it; --db picks another file)`);
    const recorder = openNodeMetrics(path, { mustExist: true, busyTimeoutMs: 2000, onError: () => {} });
    try {
      const health = recorder.health();
      if (health.state === "unavailable") throw new Error(health.lastError ?? `cannot open ${path}`);
      if (purge) {
        const { deleted } = await recorder.purge({ before });
        console.log(
          `deleted ${deleted} request metric${deleted === 1 ? "" : "s"}${before === undefined ? "" : ` recorded before ${new Date(before).toISOString()}`} from ${path}`,
        );
        return 0;
      }
      const summary = await recorder.summary({ windowMs: windowMinutes * 60_000 });
      console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
      return 0;
    } finally {
      await recorder.close();
    }
  },
};

function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function table(header: string[], rows: string[][], rightFrom: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= rightFrom ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The summary as plain-text tables: latency per endpoint and stage, then requests per endpoint and status. */
export function formatSummary(summary: MetricsSummary): string {
  const minutes = Math.round(summary.windowMs / 60_000);
  const head = `request metrics since ${new Date(summary.since).toISOString()} (last ${minutes} min), latency in ms`;
  if (summary.rows.length === 0) return `${head}\n\nno requests recorded in this window`;
  const latency = table(
    ["endpoint", "stage", "count", "p50", "p95", "p99"],
    summary.rows.map((r) => [r.endpoint, r.stage, String(r.count), ms(r.p50), ms(r.p95), ms(r.p99)]),
    2,
  );
  const requests = table(
    ["endpoint", "status", "count"],
    summary.requests.map((r) => [r.endpoint, String(r.status), String(r.count)]),
    1,
  );
  return `${head}\n\n${latency}\n\n${requests}`;
}
