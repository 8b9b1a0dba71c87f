import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";

let out: string[];
beforeEach(() => {
  out = [];
  vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
});
afterEach(() => vi.restoreAllMocks());

describe("lvm --help", () => {
  it("lists every command with its summary, and each command's help starts with that same summary", async () => {
    expect(await main(["--help"])).toBe(0);
    const listed = [...out[0].matchAll(/^ {2}(\S+) +(.+)$/gm)].map((m) => ({ name: m[1], summary: m[2] }));
    expect(listed.map((c) => c.name)).toEqual([
      "ingest",
      "train",
      "eval",
      "tune",
      "quantize",
      "export-onnx",
      "index",
      "bench",
      "publish",
      "serve",
      "metrics",
      "decoder-data",
      "train-decoder",
      "decode",
      "eval-decoder",
      "quantize-decoder",
      "models",
    ]);
    for (const { name, summary } of listed) {
      out = [];
      expect(await main([name, "--help"])).toBe(0);
      expect(out[0].split("\n\n")[0]).toBe(`lvm ${name}: ${summary}`);
      expect(out[0]).toContain(`lvm ${name}`);
    }
  }, 60_000);
});
