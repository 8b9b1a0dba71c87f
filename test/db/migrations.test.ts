import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { readMigrations } from "../../src/db/embed-migrations.ts";
import { MIGRATIONS } from "../../src/db/migrations.gen.ts";
import { openNodeMetrics } from "../../src/db/sqlite-node.ts";
import { tempDir } from "../helpers.ts";

describe("metrics schema and migrations", () => {
  it("the Worker's embedded copy matches migrations/ (run `npm run db:generate` after changing src/db/schema.ts)", () => {
    const onDisk = readMigrations();
    expect(onDisk.length).toBeGreaterThan(0);
    expect(MIGRATIONS).toEqual(onDisk);
  });

  it("apply on a fresh file (directory created), in WAL mode, once only", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "nested", "metrics.sqlite");
    const recorder = openNodeMetrics(path);
    expect(recorder.health()).toMatchObject({ state: "ok", failures: 0, lastError: null });
    await recorder.close();
    // Reopening applies nothing twice.
    await openNodeMetrics(path).close();

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      const columns = db.prepare("SELECT name, type, \"notnull\" AS nn FROM pragma_table_info('request_metrics')").all();
      expect(columns).toEqual([
        { name: "id", type: "INTEGER", nn: 1 },
        { name: "ts", type: "INTEGER", nn: 1 },
        { name: "endpoint", type: "TEXT", nn: 1 },
        { name: "model", type: "TEXT", nn: 0 },
        { name: "k", type: "INTEGER", nn: 0 },
        { name: "status", type: "INTEGER", nn: 1 },
        { name: "embed_ms", type: "REAL", nn: 0 },
        { name: "lvm_ms", type: "REAL", nn: 0 },
        { name: "search_ms", type: "REAL", nn: 0 },
        { name: "total_ms", type: "REAL", nn: 1 },
        { name: "runtime", type: "TEXT", nn: 1 },
        { name: "backend", type: "TEXT", nn: 0 },
      ]);
      expect(db.prepare("SELECT name FROM pragma_index_list('request_metrics')").pluck().all()).toEqual(["request_metrics_ts_idx"]);
      expect(db.prepare("SELECT hash FROM __drizzle_migrations").pluck().all()).toEqual(MIGRATIONS.map((m) => m.hash));
    } finally {
      db.close();
    }
  });
});
