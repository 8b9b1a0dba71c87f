// `lvm quantize-decoder` end to end on a small random decoder of the real vocabulary and width (8,000 pieces,
// 512-D): it writes the INT8 directory the core runs, `lvm decode` says the same from either directory, and it
// refuses an INT8 input and --out equal to --model.
import { spawnSync } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decoderParameterCount } from "../../src/decoder/model-format.ts";
import { quantizeDecoderWeights } from "../../src/decoder/model-int8-format.ts";
import { readDecoder, writeDecoder } from "../../src/decoder/model-node.ts";
import { REPO, tempDir } from "../helpers.ts";
import { tinyModel } from "./fixture.ts";

const LVM = join(REPO, "bin/lvm.js");
const config = { vocab: 8000, dim: 512, embed: 16, hidden: 16, maxTokens: 6 };

function lvm(args: string[]) {
  return spawnSync(process.execPath, [LVM, ...args], { encoding: "utf8", cwd: REPO });
}

describe("lvm quantize-decoder", async () => {
  const dir = await tempDir("decoder-quantize-");
  const f32Dir = join(dir.path, "f32");
  const int8Dir = join(dir.path, "int8");
  const model = tinyModel(5, config);
  beforeAll(async () => {
    await writeDecoder(f32Dir, model, { id: "use-lite", dim: 512 }, { note: "fixture" });
    return () => dir[Symbol.asyncDispose]();
  });

  it("writes the INT8 directory, printing parameters and sizes; it reads back as the weights the core quantises", async () => {
    const r = lvm(["quantize-decoder", "--model", f32Dir, "--out", int8Dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${decoderParameterCount(config).toLocaleString("en-US")} parameters`);
    expect(r.stdout).toMatch(/weights\.bin [\d.]+ MB INT8 vs [\d.]+ MB float32 \([\d.]+% smaller\)/);
    expect((await readdir(int8Dir)).sort()).toEqual(["model.json", "weights.bin"]);
    const read = await readDecoder(int8Dir);
    expect(read.precision).toBe("int8");
    expect(read.manifest.training).toEqual({ note: "fixture" });
    const want = quantizeDecoderWeights(model);
    for (const [name, rows] of Object.entries(want.matrices)) {
      const got = read.model.int8!.matrices[name as keyof typeof want.matrices];
      expect(Buffer.from(got.q.buffer, got.q.byteOffset, got.q.byteLength).equals(Buffer.from(rows.q.buffer)), name).toBe(true);
      expect(
        Buffer.from(got.scales.buffer, got.scales.byteOffset, got.scales.byteLength).equals(Buffer.from(rows.scales.buffer)),
        name,
      ).toBe(true);
    }
  });

  it("lvm decode says the same from the f32 and the INT8 directory", () => {
    const args = ["--text", "The river flows through the city.", "--steps", "1", "--samples", "2"];
    const f32 = lvm(["decode", "--model", f32Dir, ...args]);
    const int8 = lvm(["decode", "--model", int8Dir, ...args]);
    expect(f32.status, f32.stderr).toBe(0);
    expect(int8.status, int8.stderr).toBe(0);
    expect(JSON.parse(int8.stdout.trim())).toEqual(JSON.parse(f32.stdout.trim()));
  });

  it("refuses an INT8 input, --out equal to --model, and a directory that is not a decoder", () => {
    const again = lvm(["quantize-decoder", "--model", int8Dir, "--out", join(dir.path, "again")]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`${int8Dir} is already an INT8 decoder`);
    const same = lvm(["quantize-decoder", "--model", f32Dir, "--out", f32Dir]);
    expect(same.status).toBe(2);
    expect(same.stderr).toContain("--out must be another directory than --model");
    const none = lvm(["quantize-decoder", "--model", dir.path, "--out", join(dir.path, "x")]);
    expect(none.stderr).toContain(`${dir.path} is not a decoder directory (no model.json)`);
  });
}, 60_000);
