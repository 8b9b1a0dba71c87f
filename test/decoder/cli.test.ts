// `lvm decode` end to end on a small random decoder of the real shapes (8,000 pieces, 512-D): a text's round trip
// answers with its cosine, and malformed vectors are refused with a line naming what is wrong.
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeDecoder } from "../../src/decoder/model-node.ts";
import { REPO, tempDir } from "../helpers.ts";
import { tinyModel, unitVector } from "./fixture.ts";

const LVM = join(REPO, "bin/lvm.js");
const config = { vocab: 8000, dim: 512, embed: 16, hidden: 16, maxTokens: 6 };

function lvm(args: string[], input?: string) {
  return spawnSync(process.execPath, [LVM, ...args], { encoding: "utf8", cwd: REPO, input });
}

describe("lvm decode", async () => {
  const dir = await tempDir("decoder-cli-");
  const model = join(dir.path, "model");
  beforeAll(async () => {
    await writeDecoder(model, tinyModel(5, config), { id: "use-lite", dim: 512 }, {});
    return () => dir[Symbol.asyncDispose]();
  });

  it("decodes a text's vector and a JSON vector, each with its cosine and steps", () => {
    const r = lvm(["decode", "--model", model, "--text", "The river flows through the city.", "--steps", "1", "--samples", "2"]);
    expect(r.status, r.stderr).toBe(0);
    const line = JSON.parse(r.stdout.trim());
    expect(line.input).toBe("The river flows through the city.");
    expect(typeof line.text).toBe("string");
    expect(line.cosine).toBeGreaterThanOrEqual(-1);
    expect(line.steps).toBeLessThanOrEqual(1);
    const j = lvm(["decode", "--model", model, "--steps", "0"], JSON.stringify([[...unitVector(512, 1)], [...unitVector(512, 2)]]));
    expect(j.status, j.stderr).toBe(0);
    expect(j.stdout.trim().split("\n")).toHaveLength(2);
    // The refinement settings of eval-decoder, here too; a text that never improves runs patience + 1 steps.
    const tuned = ["decode", "--model", model, "--steps", "4", "--samples", "1", "--temperature", "0.5", "--feedback", "0.3"];
    const p = lvm([...tuned, "--patience", "4"], JSON.stringify([[...unitVector(512, 1)]]));
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).steps).toBe(4);
    expect(lvm([...tuned, "--feedback=-0.5"], "[]").stderr).toMatch(/--feedback must be a number >= 0, got '-0.5'/);
  });

  it("refuses a wrong size, NaN, zeros and a ragged .f32 file, naming what is wrong", async () => {
    const short = lvm(["decode", "--model", model], JSON.stringify({ vectors: [[1, 2, 3]] }));
    expect(short.status).toBe(1);
    expect(short.stderr).toContain("stdin: vectors[0] has 3 values, expected 512");
    const zeros = lvm(["decode", "--model", model], JSON.stringify([new Array(512).fill(0)]));
    expect(zeros.stderr).toContain("vectors[0] is all zeros");
    const nan = new Float32Array(1024);
    nan.set(unitVector(512, 3));
    nan.set(unitVector(512, 4), 512);
    nan[512 + 9] = Number.NaN;
    const nanFile = join(dir.path, "nan.f32");
    await writeFile(nanFile, new Uint8Array(nan.buffer));
    const n = lvm(["decode", "--model", model, "--vectors", nanFile]);
    expect(n.status).toBe(1);
    expect(n.stderr).toContain("vectors[1][9] is NaN, expected a finite number");
    const ragged = join(dir.path, "ragged.f32");
    await writeFile(ragged, new Uint8Array(100));
    expect(lvm(["decode", "--model", model, "--vectors", ragged]).stderr).toContain(
      "100 bytes is not a whole number of 512-value float32 rows",
    );
  });
}, 60_000);
