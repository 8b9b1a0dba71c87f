// Worker adapter: request metrics in Cloudflare D1 through drizzle-orm/d1. A Worker cannot read migrations/ from disk, so
// the migrations come from src/db/migrations.gen.ts (embedded by `npm run db:generate`) and are applied exactly as
// drizzle-orm's D1 migrator applies them (same __drizzle_migrations table and hashes, all pending statements in one D1 batch).
import { sql } from "drizzle-orm";
import { type AnyD1Database, type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { MigrationMeta } from "drizzle-orm/migrator";
import { MetricsRecorder, type MetricsRecorderOptions } from "./metrics.ts";
import { MIGRATIONS } from "./migrations.gen.ts";

/** D1 allows at most 100 bound parameters per statement. */
export const D1_MAX_PARAMS = 100;

const MIGRATIONS_TABLE = "__drizzle_migrations";

/** drizzle-orm/d1/migrator's algorithm over embedded migrations instead of files. */
export async function applyD1Migrations(db: DrizzleD1Database, migrations: MigrationMeta[] = MIGRATIONS): Promise<void> {
  await db.run(sql`
    CREATE TABLE IF NOT EXISTS ${sql.identifier(MIGRATIONS_TABLE)} (
      id SERIAL PRIMARY KEY,
      hash text NOT NULL,
      created_at numeric
    )`);
  const last = (
    await db.values<[number, string, number]>(
      sql`SELECT id, hash, created_at FROM ${sql.identifier(MIGRATIONS_TABLE)} ORDER BY created_at DESC LIMIT 1`,
    )
  )[0];
  const statements = [];
  for (const migration of migrations) {
    if (last && Number(last[2]) >= migration.folderMillis) continue;
    for (const stmt of migration.sql) statements.push(db.run(sql.raw(stmt)));
    // Values inlined as drizzle's D1 migrator does (drizzle's D1 batch cannot bind parameters of db.run statements);
    // safe: the hash is hex, folderMillis a number.
    statements.push(
      db.run(
        sql`INSERT INTO ${sql.identifier(MIGRATIONS_TABLE)} ("hash", "created_at") VALUES(${sql.raw(`'${migration.hash}'`)}, ${sql.raw(String(Number(migration.folderMillis)))})`,
      ),
    );
  }
  if (statements.length > 0) await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
}

/**
 * Migrate the D1 database bound as `d1` and return its recorder. Never rejects: on failure the recorder is 'unavailable'.
 * In a Worker, call it once per isolate (memoize the promise); after record(), hand `recorder.flush()` to
 * `ctx.waitUntil` — a Worker's timers do not outlive the request.
 */
export async function openD1Metrics(d1: AnyD1Database, options: MetricsRecorderOptions = {}): Promise<MetricsRecorder> {
  const recorderOptions: MetricsRecorderOptions = { label: "D1 metrics database", maxParams: D1_MAX_PARAMS, ...options };
  try {
    const db = drizzle(d1);
    await applyD1Migrations(db);
    return new MetricsRecorder(db, recorderOptions);
  } catch (error) {
    return MetricsRecorder.unavailable(error, recorderOptions);
  }
}
