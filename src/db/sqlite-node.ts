// Node adapter: request metrics in a SQLite file through better-sqlite3 (WAL), migrated by drizzle-orm's better-sqlite3
// migrator from migrations/. Opening never throws: a file that cannot be opened, switched to WAL or migrated (read-only,
// locked, bad path) yields a recorder in the 'unavailable' state, so the server still starts.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { MIGRATIONS_FOLDER } from "./embed-migrations.ts";
import { MetricsRecorder, type MetricsRecorderOptions } from "./metrics.ts";
import { isPostgresUrl, openPostgresMetrics, type PostgresMetricsOptions } from "./postgres-node.ts";

/** Where `lvm serve` and `lvm metrics` keep metrics unless told otherwise (relative to the working directory). */
export const DEFAULT_METRICS_PATH = ".lvm/metrics.sqlite";

export interface NodeMetricsOptions extends MetricsRecorderOptions {
  /** How long a write waits for another connection's lock before failing (it blocks the event loop meanwhile). Default 50 ms. */
  busyTimeoutMs?: number;
  /** 'WAL' (default). 'DELETE' exists for the benchmark's reference. */
  journalMode?: "WAL" | "DELETE";
  /** Open the file without creating it (the CLI reads an existing database). Default false. */
  mustExist?: boolean;
}

/**
 * The recorder of a Node process: `target` is a SQLite file path (the default, one process) or a postgres:// URL
 * (LVM_METRICS_URL: several replicas sharing one database, src/db/postgres-node.ts). Never throws.
 */
export function openNodeMetrics(target: string, options: NodeMetricsOptions & PostgresMetricsOptions = {}): MetricsRecorder {
  return isPostgresUrl(target) ? openPostgresMetrics(target, options) : openSqliteMetrics(target, options);
}

/**
 * Open (creating it and its directory if needed) the SQLite metrics database at `path` and return its recorder. Never
 * throws: on failure the recorder is 'unavailable' (health().state), drops rows, and has reported the error once via onError.
 */
export function openSqliteMetrics(path: string, options: NodeMetricsOptions = {}): MetricsRecorder {
  const recorderOptions: MetricsRecorderOptions = { label: path, ...options };
  let sqlite: Database.Database | undefined;
  try {
    if (path !== ":memory:" && !options.mustExist) mkdirSync(dirname(path), { recursive: true });
    sqlite = new Database(path, { timeout: options.busyTimeoutMs ?? 50, fileMustExist: options.mustExist ?? false });
    const wanted = (options.journalMode ?? "WAL").toLowerCase();
    const mode = String(sqlite.pragma(`journal_mode = ${wanted}`, { simple: true })).toLowerCase();
    if (mode !== wanted && path !== ":memory:") throw new Error(`could not set journal_mode=${wanted} (still '${mode}')`);
    // With WAL, NORMAL syncs at checkpoints only: durable against application crashes, fast inserts.
    sqlite.pragma("synchronous = NORMAL");
    const db = drizzle({ client: sqlite });
    migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const opened = sqlite;
    return new MetricsRecorder(db, recorderOptions, () => {
      opened.close();
    });
  } catch (error) {
    try {
      sqlite?.close();
    } catch {
      // Already failing; the first error is the one to report.
    }
    return MetricsRecorder.unavailable(error, recorderOptions);
  }
}
