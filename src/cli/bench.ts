import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command } from "./command.ts";

const RUN = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));

export const benchCommand: Command = {
  usage: `lvm bench [section ...]      (the same as npm run bench -- [section ...])

Sections: encoder (USE-lite ingest vs @energetic-ai/embeddings), lvm (core INT8/f32 vs onnxruntime-web
and -node; exact search vs the TypeScript reference), hnsw (approximate index), metrics (SQLite WAL vs
DELETE), http (loopback load test of /v1/next). Results also go to bench/results/latest.json.
Needs ../shared/data/wiki (or LVM_WIKI) for the dev1k vectors.`,
  allowPositionals: true,
  options: {},
  async run(_values, positionals) {
    const r = spawnSync(process.execPath, [RUN, ...positionals], { stdio: "inherit" });
    return r.status ?? 1;
  },
};
