import { defineConfig } from "vitest/config";

// `npm run test:reliability`: the reliability suite with more kills, plus the long runs (test/reliability/*.long.ts,
// e.g. the 10-minute soak; LVM_SOAK_SECONDS shortens it). Not part of `npm test`.
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts", "test/reliability/**/*.long.ts"],
    pool: "forks",
    // One file at a time: the kill, server and soak cases measure the machine and must not share it.
    fileParallelism: false,
    env: { LVM_RELIABILITY: "long" },
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
  },
});
