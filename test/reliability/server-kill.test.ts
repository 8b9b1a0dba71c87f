// kill -9 of the Node server under load (loopback): the metrics database stays intact and loses no more rows
// than src/db/metrics.ts buffers: rows are written at most flushIntervalMs (1 s) after they are recorded, and
// at once when a batch (64) fills, so only requests answered in about the last second may be missing.

import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { buildMiniStore, tempDir } from "../helpers.ts";
import { miniVectors, nextBody, startServerChild } from "./mini.ts";

const FLUSH_INTERVAL_MS = 1000;
/** Timer lateness under load (the event loop is busy answering) on top of the documented interval. */
const SLACK_MS = 500;
const ROUNDS = process.env.LVM_RELIABILITY === "long" ? 6 : 2;

describe("kill -9 of the server under load", () => {
  it("leaves the metrics database intact, missing only rows of the last flush interval", async () => {
    await using dir = await tempDir();
    const store = await buildMiniStore(join(dir.path, "store"));
    const db = join(dir.path, "metrics.sqlite");
    const vectors = await miniVectors();
    let answered = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await startServerChild({ LVM_STORE: store, LVM_METRICS_DB: db });
      const done: number[] = [];
      let stop = false;
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const res = await fetch(`${server.base}/v1/next`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: nextBody(vectors, (w * 997 + i * 13) % 6000),
            });
            await res.arrayBuffer();
            if (res.status === 200) done.push(Date.now());
          } catch {
            return; // the server is gone
          }
        }
      };
      const workers = Array.from({ length: 16 }, (_, w) => worker(w));
      await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1500));
      const killedAt = Date.now();
      await server.kill9();
      stop = true;
      await Promise.all(workers);
      answered += done.length;
      const recent = done.filter((t) => t > killedAt - FLUSH_INTERVAL_MS - SLACK_MS).length;

      const sqlite = new Database(db, { readonly: true });
      try {
        expect(sqlite.pragma("integrity_check", { simple: true })).toBe("ok");
        const written = (
          sqlite.prepare("SELECT COUNT(*) AS n FROM request_metrics WHERE endpoint = 'POST /v1/next'").get() as { n: number }
        ).n;
        const lost = answered - written;
        console.log(
          `round ${round + 1}: ${done.length} answered, ${answered} in all, ${written} rows written, ${lost} lost (bound ${recent})`,
        );
        expect(done.length).toBeGreaterThan(50);
        expect(lost).toBeLessThanOrEqual(recent);
        answered = written; // the next round counts from what is on disk
      } finally {
        sqlite.close();
      }
    }
  });
});
