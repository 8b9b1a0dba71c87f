// The request-metrics schema (issue 6). drizzle-kit reads this file (drizzle.config.ts) to generate `migrations/`;
// `npm run db:generate` also embeds those migrations in src/db/migrations.gen.ts for the Worker.
import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const RUNTIMES = ["node", "worker"] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** One row per HTTP request: what was asked, how it ended, and how long each stage took (milliseconds). */
export const requestMetrics = sqliteTable(
  "request_metrics",
  {
    /** INTEGER PRIMARY KEY: the rowid itself (no AUTOINCREMENT bookkeeping on the hot insert path). */
    id: integer("id").primaryKey(),
    /** Request start, epoch milliseconds. */
    ts: integer("ts").notNull(),
    endpoint: text("endpoint").notNull(),
    model: text("model"),
    k: integer("k"),
    status: integer("status").notNull(),
    embedMs: real("embed_ms"),
    lvmMs: real("lvm_ms"),
    searchMs: real("search_ms"),
    totalMs: real("total_ms").notNull(),
    runtime: text("runtime", { enum: RUNTIMES }).notNull(),
    /** Which implementation served it, e.g. 'core-int8'. */
    backend: text("backend"),
  },
  (t) => [index("request_metrics_ts_idx").on(t.ts)],
);

export type RequestMetricRow = typeof requestMetrics.$inferSelect;
export type NewRequestMetricRow = typeof requestMetrics.$inferInsert;
