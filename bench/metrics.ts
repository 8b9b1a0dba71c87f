// Metrics insert throughput: the MetricsRecorder over a SQLite file in WAL mode (ours) vs journal_mode=DELETE (the
// reference, SQLite's default), same process, same disk, same synchronous=NORMAL. Two shapes: the recorder's batches of
// 64 rows (what `lvm serve` does), and one row per transaction (batchSize 1: what logging each request inline would cost).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RequestMetric } from "../src/db/metrics.ts";
import { openNodeMetrics } from "../src/db/sqlite-node.ts";

interface Run {
  journalMode: "WAL" | "DELETE";
  batchSize: number;
  rows: number;
  seconds: number;
  insertsPerSecond: number;
}

function row(i: number): RequestMetric {
  return {
    ts: Date.now(),
    endpoint: i % 3 === 0 ? "/v1/search" : "/v1/predict",
    model: "core-int8",
    k: 5,
    status: 200,
    embedMs: 3.2 + (i % 7),
    lvmMs: 0.8 + (i % 5) / 10,
    searchMs: 1.5 + (i % 11) / 10,
    totalMs: 6 + (i % 13),
    runtime: "node",
    backend: "core-int8",
  };
}

async function measure(dir: string, journalMode: "WAL" | "DELETE", batchSize: number, rows: number): Promise<Run> {
  const path = join(dir, `${journalMode}-${batchSize}-${Math.random().toString(36).slice(2)}.sqlite`);
  const recorder = openNodeMetrics(path, { journalMode, batchSize, flushIntervalMs: 0, maxBuffered: rows });
  if (recorder.health().state !== "ok") throw new Error(`bench: ${recorder.health().lastError}`);
  const started = performance.now();
  for (let i = 0; i < rows; i++) recorder.record(row(i));
  await recorder.flush();
  const seconds = (performance.now() - started) / 1000;
  const health = recorder.health();
  await recorder.close();
  if (health.written !== rows) throw new Error(`bench: wrote ${health.written} of ${rows} rows (${health.lastError})`);
  return { journalMode, batchSize, rows, seconds, insertsPerSecond: rows / seconds };
}

const median = (runs: Run[]): Run => [...runs].sort((a, b) => a.insertsPerSecond - b.insertsPerSecond)[Math.floor(runs.length / 2)];

export async function benchMetrics(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(process.env.LVM_BENCH_DIR ?? tmpdir(), "lvm-bench-metrics-"));
  try {
    const shapes = [
      { batchSize: 64, rows: 20_000 },
      { batchSize: 1, rows: 1_000 },
    ];
    const results: Record<string, unknown> = { dir };
    console.log("\n## Metrics: request-metric inserts/s through MetricsRecorder (SQLite file, synchronous=NORMAL), median of 3");
    console.log("| rows per transaction | journal_mode=DELETE (reference) | WAL (ours) | ratio |\n|---|---|---|---|");
    for (const { batchSize, rows } of shapes) {
      const wal: Run[] = [];
      const del: Run[] = [];
      for (let rep = 0; rep < 3; rep++) {
        // Interleaved, so that disk or CPU noise hits both alike.
        del.push(await measure(dir, "DELETE", batchSize, rows));
        wal.push(await measure(dir, "WAL", batchSize, rows));
      }
      const reference = median(del);
      const ours = median(wal);
      const ratio = ours.insertsPerSecond / reference.insertsPerSecond;
      console.log(
        `| ${batchSize} | ${reference.insertsPerSecond.toFixed(0)} | ${ours.insertsPerSecond.toFixed(0)} | ${ratio.toFixed(2)}x |`,
      );
      results[`batch${batchSize}`] = { reference, ours, ratio };
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(JSON.stringify(await benchMetrics(), null, 2));
