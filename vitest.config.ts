import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Separate processes: TF.js and WASM backends keep global state per process.
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
