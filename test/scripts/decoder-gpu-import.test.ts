// scripts/decoder-gpu/import-weights.ts: what train_decoder.py writes (weight parts, train-log.json, PyTorch's
// logits of one sentence) becomes a decoder directory only if the TypeScript reference reproduces those logits.
// The "PyTorch" side here is the reference itself on a tiny random decoder; the refusal cases are what a layout
// mistake in the Python export would look like.
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { conditioning, type DecoderConfig, decoderParameterCount, decoderTensorShapes } from "../../src/decoder/model-format.ts";
import { readDecoder } from "../../src/decoder/model-node.ts";
import { referenceLogits } from "../../src/decoder/reference.ts";
import { tinyConfig, tinyModel, unitVector } from "../decoder/fixture.ts";

const SCRIPT = new URL("../../scripts/decoder-gpu/import-weights.ts", import.meta.url).pathname;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A train_decoder.py output folder for the tiny model; `mangle` edits the weights after the logits are taken. */
async function trainerOutput(mangle?: (flat: Float32Array) => void, config: DecoderConfig = tinyConfig): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "gpu-import-"));
  dirs.push(dir);
  const model = tinyModel(3, config);
  const names = decoderTensorShapes(config);
  const flat = new Float32Array(names.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0));
  let at = 0;
  for (const [name] of names) {
    const data = model.tensors.get(name)!.data;
    flat.set(data, at);
    at += data.length;
  }
  const inputs = [1, 7, 9, 11];
  const v = unitVector(config.dim, 5);
  const logits = referenceLogits(model, v, inputs);
  const check = new Float32Array(config.dim + inputs.length * config.vocab);
  check.set(v);
  for (const [t, row] of logits.entries()) check.set(Float32Array.from(row), config.dim + t * config.vocab);
  mangle?.(flat);
  // Two parts, as the script cuts weights past 15 MiB.
  const bytes = new Uint8Array(flat.buffer);
  const cut = 4 * 1000;
  await writeFile(join(dir, "weights-0.bin"), bytes.subarray(0, cut));
  await writeFile(join(dir, "weights-1.bin"), bytes.subarray(cut));
  await writeFile(join(dir, "check-logits.bin"), new Uint8Array(check.buffer));
  const log = {
    args: { embed: config.embed, hidden: config.hidden, vocab: config.vocab, ...(config.corrector ? { corrector: true } : {}) },
    weights: { bytes: bytes.length, parts: 2, saved: "step 9", tensors: names },
    check: { file: "check-logits.bin", inputs, vocab: tinyConfig.vocab },
    history: [
      { step: 5, valLoss: 3.1 },
      { step: 9, valLoss: 2.9 },
    ],
  };
  await writeFile(join(dir, "train-log.json"), JSON.stringify(log));
  return dir;
}

function runImport(from: string, out: string, ...flags: string[]) {
  return spawnSync(process.execPath, [SCRIPT, "--from", from, "--out", out, "--max-tokens", String(tinyConfig.maxTokens), ...flags], {
    encoding: "utf8",
  });
}

describe("import-weights.ts", () => {
  it("writes a decoder directory whose tensors are the parts, in order, after the parity check", async () => {
    const from = await trainerOutput();
    const out = join(from, "model");
    const run = runImport(from, out);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/parity: 4 steps x 40 logits, max \|reference - torch\| /);
    const { model, manifest } = await readDecoder(out);
    expect(model.config).toEqual(tinyConfig);
    const expected = tinyModel(3);
    for (const [name, t] of expected.tensors) expect(model.tensors.get(name)!.data).toEqual(t.data);
    expect(manifest.training).toMatchObject({ saved: "step 9", bestValLoss: 2.9 });
  });

  it("refuses weights the reference does not reproduce (a matrix stored transposed) and writes nothing", async () => {
    const from = await trainerOutput((flat) => {
      // gru.w_h [H, 3H] stored as [3H, H]: same count, wrong layout.
      let at = 0;
      for (const [name, shape] of decoderTensorShapes(tinyConfig)) {
        const n = shape.reduce((a, b) => a * b, 1);
        if (name === "gru.w_h") {
          const [rows, cols] = shape;
          const src = flat.slice(at, at + n);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) flat[at + c * rows + r] = src[r * cols + c];
        }
        at += n;
      }
    });
    const out = join(from, "model");
    const run = runImport(from, out);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/the reference disagrees with PyTorch/);
    expect(await readdir(from)).not.toContain("model");
  });

  it("refuses parts that do not add up to the logged size", async () => {
    const from = await trainerOutput();
    await writeFile(join(from, "weights-1.bin"), new Uint8Array(8));
    const run = runImport(from, join(from, "model"));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/the weight parts hold \d+ bytes, train-log.json says \d+/);
  });

  it("imports a corrector run (D = 2 x the encoder's), and --fold writes its first-decode role as a plain decoder", async () => {
    const correctorConfig: DecoderConfig = { ...tinyConfig, dim: 2 * tinyConfig.dim, corrector: true };
    const from = await trainerOutput(undefined, correctorConfig);
    const run = runImport(from, join(from, "corrector"));
    expect(run.stderr).toBe("");
    const corrector = await readDecoder(join(from, "corrector"));
    expect(corrector.model.config).toEqual(correctorConfig);
    expect(corrector.manifest.encoder.dim).toBe(tinyConfig.dim);

    expect(runImport(from, join(from, "folded"), "--fold").status).toBe(0);
    const folded = await readDecoder(join(from, "folded"));
    expect(folded.model.config).toEqual(tinyConfig);
    expect(folded.manifest.training.parameters).toBe(decoderParameterCount(tinyConfig));
    // The folded decoder on t gives the corrector's logits on [t ; t].
    const t = unitVector(tinyConfig.dim, 8);
    const inputs = [1, 12, 30, 7];
    const want = referenceLogits(corrector.model, conditioning(correctorConfig, t), inputs);
    const got = referenceLogits(folded.model, t, inputs);
    for (const [step, row] of want.entries()) for (const [j, x] of row.entries()) expect(got[step][j]).toBeCloseTo(x, 4);
    // A corrector's hypothesis half matters: [t ; h] differs from [t ; t].
    const other = referenceLogits(corrector.model, conditioning(correctorConfig, t, unitVector(tinyConfig.dim, 9)), inputs);
    expect(Math.max(...other[0].map((x, j) => Math.abs(x - want[0][j])))).toBeGreaterThan(1e-3);

    const plain = await trainerOutput();
    const refused = runImport(plain, join(plain, "folded"), "--fold");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/--fold: .* is not a corrector run/);
  });
});
