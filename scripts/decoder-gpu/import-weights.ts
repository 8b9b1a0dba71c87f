// Turns what train_decoder.py wrote (weights-N.bin parts, train-log.json, check-logits.bin) into a decoder model
// directory (src/decoder/model-format.ts, float32), after checking that the TypeScript reference
// (src/decoder/reference.ts) computes the same logits from the imported weights as PyTorch did: same tensor order,
// layouts and GRU equations, or the import stops. Quantise the result with `lvm quantize-decoder`.
//
// Usage: node scripts/decoder-gpu/import-weights.ts --from <train_decoder.py --out> --out <model dir>
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  type DecoderConfig,
  type DecoderModel,
  decoderParameterCount,
  decoderTensorShapes,
  targetDim,
} from "../../src/decoder/model-format.ts";
import { writeDecoder } from "../../src/decoder/model-node.ts";
import { referenceLogits } from "../../src/decoder/reference.ts";
import type { TensorMap } from "../../src/lvm/model-format.ts";
import { parseJsonFile } from "../../src/validate/parse-file.ts";

const LogSchema = z.looseObject({
  args: z.looseObject({
    embed: z.int().positive(),
    hidden: z.int().positive(),
    vocab: z.int().positive(),
    corrector: z.boolean().optional(),
  }),
  weights: z.object({
    bytes: z.int().positive(),
    parts: z.int().positive(),
    saved: z.string(),
    tensors: z.array(z.tuple([z.string(), z.array(z.int())])),
  }),
  check: z.object({ file: z.string(), inputs: z.array(z.int().min(0)), vocab: z.int().positive() }),
  history: z.array(z.looseObject({ step: z.int(), valLoss: z.number() })),
});

const { values } = parseArgs({
  options: {
    from: { type: "string" },
    out: { type: "string" },
    "max-tokens": { type: "string", default: "32" },
    // A corrector's first-decode role alone: v = [t ; t], so its vector weights' two halves add up (exactly).
    fold: { type: "boolean", default: false },
  },
});
if (!values.from || !values.out) throw new Error("usage: --from DIR --out DIR");
const from = values.from;
const logPath = join(from, "train-log.json");
const log = parseJsonFile(LogSchema, await readFile(logPath, "utf8"), logPath);

// check-logits.bin: [D] vector, then [T, V] logits; D (USE-lite's 512) is what is left once the logits are counted.
const check = await readFile(join(from, log.check.file));
const checkValues = new Float32Array(check.buffer.slice(check.byteOffset, check.byteOffset + check.length));
const T = log.check.inputs.length;
const dim = checkValues.length - T * log.args.vocab;
if (!(dim > 0)) throw new Error(`${log.check.file}: ${checkValues.length} values cannot hold ${T} x ${log.args.vocab} logits and a vector`);
const config: DecoderConfig = {
  vocab: log.args.vocab,
  dim,
  embed: log.args.embed,
  hidden: log.args.hidden,
  maxTokens: Number(values["max-tokens"]),
  ...(log.args.corrector ? { corrector: true } : {}),
};
if (values.fold && !config.corrector) throw new Error(`--fold: ${from} is not a corrector run`);

const parts = await Promise.all(Array.from({ length: log.weights.parts }, (_, i) => readFile(join(from, `weights-${i}.bin`))));
const blob = Buffer.concat(parts);
if (blob.length !== log.weights.bytes)
  throw new Error(`${from}: the weight parts hold ${blob.length} bytes, train-log.json says ${log.weights.bytes}`);
const flat = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length));
const tensors: TensorMap = new Map();
let at = 0;
for (const [name, shape] of decoderTensorShapes(config)) {
  const logged = log.weights.tensors.find(([n]) => n === name);
  if (!logged || logged[1].join(",") !== shape.join(","))
    throw new Error(`${from}: tensor ${name} is [${logged?.[1]}], expected [${shape}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  tensors.set(name, { shape, data: flat.slice(at, at + n) });
  at += n;
}
if (at !== flat.length) throw new Error(`${from}: ${flat.length - at} values left over after the last tensor`);

// Parity: PyTorch's float32 logits of one validation sentence against the reference's from these weights.
const vector = checkValues.subarray(0, dim);
const torchLogits = checkValues.subarray(dim);
const ours = referenceLogits({ config, tensors }, vector, log.check.inputs);
let maxError = 0;
let range = 0;
for (let t = 0; t < T; t++)
  for (let j = 0; j < config.vocab; j++) {
    maxError = Math.max(maxError, Math.abs(ours[t][j] - torchLogits[t * config.vocab + j]));
    range = Math.max(range, Math.abs(torchLogits[t * config.vocab + j]));
  }
console.log(
  `parity: ${T} steps x ${config.vocab} logits, max |reference - torch| ${maxError.toExponential(2)} (largest logit ${range.toFixed(2)})`,
);
// TF32 matrix products on the GPU round inputs to 10 mantissa bits: allow 1e-2 of the logit range, far below a
// layout error (which moves logits by their whole range).
if (!(maxError <= 1e-2 * Math.max(range, 1)))
  throw new Error(`the reference disagrees with PyTorch (max error ${maxError}): not importing`);

// The saved weights are those of the best validation loss (a corrector's: the mean of its two roles); a folded
// model reports its own role's loss at that point.
const saved = log.history.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
const best = { valLoss: values.fold && typeof saved.valLossFirst === "number" ? saved.valLossFirst : saved.valLoss };
const { args, weights, check: _check, history, ...rest } = log;
const model = values.fold ? foldCorrector({ config, tensors }) : { config, tensors };
await writeDecoder(
  values.out,
  model,
  { id: "use-lite", dim: targetDim(config) },
  {
    trainer: "scripts/decoder-gpu/train_decoder.py (PyTorch)",
    ...rest,
    args,
    saved: weights.saved,
    bestValLoss: best.valLoss,
    history,
    parity: { maxError, largestLogit: range },
    // The run's log counts the corrector's parameters; the folded model has its own.
    parameters: decoderParameterCount(model.config),
    ...(values.fold
      ? { folded: "the corrector's first-decode role: cond.w and gru.w_x's vector rows, target + hypothesis halves added" }
      : {}),
  },
);
console.log(`wrote ${values.out} (${weights.saved}, validation loss ${best.valLoss.toFixed(3)})`);

/** The corrector's model on v = [t ; t] as a plain decoder on t (dim halved): rows of t's and the hypothesis's weights add. */
function foldCorrector(m: DecoderModel): DecoderModel {
  const { corrector: _corrector, ...config } = { ...m.config, dim: m.config.dim / 2 };
  const D = config.dim;
  const tensors: TensorMap = new Map(m.tensors);
  for (const [name, skip] of [
    ["cond.w", 0],
    ["gru.w_x", config.embed],
  ] as const) {
    const t = m.tensors.get(name)!;
    const cols = t.shape[1];
    const data = new Float32Array((skip + D) * cols);
    data.set(t.data.subarray(0, (skip + D) * cols));
    for (let i = 0; i < D * cols; i++) data[skip * cols + i] += t.data[(skip + D) * cols + i];
    tensors.set(name, { shape: [skip + D, cols], data });
  }
  return { config, tensors };
}
