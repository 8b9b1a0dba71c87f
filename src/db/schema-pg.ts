// The request-metrics schema for Postgres (issue 16): the same logical table as src/db/schema.ts (SQLite, D1), for Node
// replicas that share one database. drizzle-kit reads this file through drizzle-pg.config.ts to generate
// migrations/postgres/. Column names, nullability and the ts index match the SQLite table; types are Postgres's:
// epoch milliseconds need bigint, and durations are double precision (SQLite's REAL is 8 bytes; Postgres's real is 4).
import { bigint, doublePrecision, index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { RUNTIMES } from "./schema.ts";

export const requestMetricsPg = pgTable(
  "request_metrics",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** Request start, epoch milliseconds. */
    ts: bigint("ts", { mode: "number" }).notNull(),
    endpoint: text("endpoint").notNull(),
    model: text("model"),
    k: integer("k"),
    status: integer("status").notNull(),
    embedMs: doublePrecision("embed_ms"),
    lvmMs: doublePrecision("lvm_ms"),
    searchMs: doublePrecision("search_ms"),
    totalMs: doublePrecision("total_ms").notNull(),
    runtime: text("runtime", { enum: RUNTIMES }).notNull(),
    backend: text("backend"),
  },
  (t) => [index("request_metrics_ts_idx").on(t.ts)],
);
