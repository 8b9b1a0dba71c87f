// `lvm decoder-data --unit paragraph` and `lvm eval-decoder`'s generation length, end to end on a tiny corpus and a
// small random decoder of the real shapes (8,000 pieces, 512-D, trained length 6).
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sentenceCount } from "../../src/decoder/dataset-format.ts";
import { readSentenceSet } from "../../src/decoder/dataset-node.ts";
import { writeDecoder } from "../../src/decoder/model-node.ts";
import { REPO, tempDir } from "../helpers.ts";
import { tinyModel } from "./fixture.ts";

const LVM = join(REPO, "bin/lvm.js");
const config = { vocab: 8000, dim: 512, embed: 16, hidden: 16, maxTokens: 6 };

function lvm(args: string[]) {
  return spawnSync(process.execPath, [LVM, ...args], { encoding: "utf8", cwd: REPO });
}

const paragraphs = [
  "The river flows through the old city. It was used for trade for many centuries.",
  "Yes.",
  "The castle was built on a hill above the town in the twelfth century. Its walls were made of stone.",
];

describe("lvm decoder-data --unit paragraph, lvm eval-decoder --max-tokens", async () => {
  const dir = await tempDir("decoder-cli-data-");
  const corpus = join(dir.path, "corpus.jsonl");
  const model = join(dir.path, "model");
  const paras = join(dir.path, "p.sent");
  beforeAll(async () => {
    await writeFile(corpus, `${JSON.stringify({ id: "1", title: "A", paragraphs })}\n`);
    await writeDecoder(model, tinyModel(5, config), { id: "use-lite", dim: 512 }, {});
  });
  afterAll(() => dir[Symbol.asyncDispose]());

  it("writes whole paragraphs and refuses a bad unit or a limit past 128", async () => {
    const r = lvm(["decoder-data", corpus, "--out", paras, "--unit", "paragraph"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 paragraphs/);
    const set = await readSentenceSet(paras);
    expect(sentenceCount(set)).toBe(2);
    expect(set.source.unit).toBe("paragraph");
    const bad = lvm(["decoder-data", corpus, "--out", join(dir.path, "x.sent"), "--unit", "words"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--unit must be sentence or paragraph, got 'words'/);
    const long = lvm(["decoder-data", corpus, "--out", join(dir.path, "x.sent"), "--unit", "paragraph", "--max-tokens", "129"]);
    expect(long.status).not.toBe(0);
    expect(long.stderr).toMatch(/--max-tokens must be <= 128/);
  });

  it("eval-decoder generates up to the longest paragraph by default, or --max-tokens", async () => {
    const set = await readSentenceSet(paras);
    const longest = Math.max(set.offsets[1] - set.offsets[0], set.offsets[2] - set.offsets[1]);
    expect(longest).toBeGreaterThan(config.maxTokens);
    const common = ["eval-decoder", "--model", model, "--test", paras, "--sentences", "2", "--steps", "0", "--beam", "1", "--samples", "0"];
    const r = lvm([...common, "--out", join(dir.path, "e1")]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(dir.path, "e1", "decoder-eval.json"), "utf8"));
    expect(report.options.maxTokens).toBe(longest);
    expect(report.unit).toBe("paragraph");
    expect(await readFile(join(dir.path, "e1", "decoder-eval.md"), "utf8")).toMatch(/2 held-out paragraphs .*\(nearest stored paragraph,/s);
    const capped = lvm([...common, "--out", join(dir.path, "e2"), "--max-tokens", "10"]);
    expect(capped.status, capped.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir.path, "e2", "decoder-eval.json"), "utf8")).options.maxTokens).toBe(10);
  });

  it("eval-decoder passes --temperature, --feedback and --patience to refinement, and refuses values out of range", async () => {
    const common = ["eval-decoder", "--model", model, "--test", paras, "--sentences", "2", "--steps", "1", "--beam", "1", "--samples", "2"];
    const r = lvm([...common, "--out", join(dir.path, "e3"), "--temperature", "0.5", "--feedback", "2", "--patience", "1"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(dir.path, "e3", "decoder-eval.json"), "utf8")).options).toMatchObject({
      temperature: 0.5,
      feedback: 2,
      patience: 1,
    });
    expect(await readFile(join(dir.path, "e3", "decoder-eval.md"), "utf8")).toContain("feedback 2, patience 1,");
    const bad = lvm([...common, "--out", join(dir.path, "e4"), "--temperature", "0"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--temperature must be a number > 0, got '0'/);
    const badPatience = lvm([...common, "--out", join(dir.path, "e5"), "--patience", "1.5"]);
    expect(badPatience.status).toBe(2);
    expect(badPatience.stderr).toMatch(/--patience must be an integer >= 0, got '1.5'/);
  });
});
