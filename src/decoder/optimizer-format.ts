/**
 * The decoder trainer's resume state (runtime-agnostic: train-node.ts reads and writes it). `lvm train-decoder`
 * writes it next to model.json and weights.bin at every validation and at the end; `--resume <dir>` continues the
 * run from it exactly (same weights, moments, bias correction and data order as one uninterrupted run).
 *
 *   optimizer.json  OptimizerStateSchema below, UTF-8 JSON
 *   optimizer.bin   for each entry of optimizer.json's `tensors`, in order: Adam's first moment m, then its second
 *                   moment v, each `shape` little-endian float32 values (row-major), no padding; 8 * size bytes per
 *                   tensor, `moments.bytes` in all
 *
 * optimizer.json fields:
 *   format, version  "lvm-edge-decoder-optimizer", 1
 *   step             optimizer steps taken (TF.js Adam's iteration count); equals model.json's training.steps
 *   adam             beta1, beta2, epsilon, and accBeta1 / accBeta2: beta^(step + 1) as TF.js accumulated them
 *                    (float32, one multiplication per step). Stored, not recomputed: TF.js's setWeights recomputes
 *                    them with pow(), which may differ in the last bit from the product and break bit-exactness.
 *   position         { epoch, batch }: `batch` batches of epoch `epoch` are done. An epoch's order is
 *                    epochBatches(..., createRng(seed * 7919 + epoch)), so these two numbers are the whole data-order
 *                    state (no RNG state is carried across epochs).
 *   tokens, seconds  target tokens and training seconds so far (provenance only)
 *   options          { lr, batch, clip, seed, config }: a resuming run must pass the same (checked field by field)
 *   data             { train, val }: each sentence file's content (sentences, tokens, dim, articles, FNV-1a over its
 *                    offsets, token ids and vectors); a resuming run's files must have the same
 *   weights          { bytes, fnv1a } of the weights.bin written with this state (= model.json's `weights`): a state
 *                    is only used with the model it was written with
 *   moments          { bytes, fnv1a } of optimizer.bin
 *   tensors          [{ name, shape }]: the decoder's tensors (model-format.ts), in optimizer.bin's order
 *   history          the run's validation records so far (model.json's training.history)
 */
import { z } from "zod";
import type { TensorMap } from "../lvm/model-format.ts";
import { fnv1a } from "../math/fnv1a.ts";
import { nonNegativeInt, parseJsonFile, positiveInt } from "../validate/parse-file.ts";
import type { SentenceSet } from "./dataset-format.ts";
import { DecoderConfigSchema, decoderTensorShapes } from "./model-format.ts";

export const OPTIMIZER_FORMAT = "lvm-edge-decoder-optimizer";
export const OPTIMIZER_VERSION = 1;
export const OPTIMIZER_JSON = "optimizer.json";
export const OPTIMIZER_BIN = "optimizer.bin";

const DataFingerprintSchema = z.object({
  sentences: nonNegativeInt(),
  tokens: nonNegativeInt(),
  dim: positiveInt(),
  articles: nonNegativeInt(),
  fnv1a: nonNegativeInt(),
});
export type DataFingerprint = z.infer<typeof DataFingerprintSchema>;

const ResumeOptionsSchema = z.object({
  lr: z.number().positive(),
  batch: positiveInt(),
  clip: z.number().positive(),
  seed: z.int(),
  config: DecoderConfigSchema,
});
export type ResumeOptions = z.infer<typeof ResumeOptionsSchema>;

const finite = () => z.number({ error: "expected a finite number" });

export const OptimizerStateSchema = z.object({
  format: z.literal(OPTIMIZER_FORMAT, { error: `expected "${OPTIMIZER_FORMAT}" (not a decoder optimizer state)` }),
  version: z.literal(OPTIMIZER_VERSION, { error: `expected optimizer state version ${OPTIMIZER_VERSION}` }),
  step: nonNegativeInt(),
  adam: z.object({ beta1: finite(), beta2: finite(), epsilon: finite(), accBeta1: finite(), accBeta2: finite() }),
  position: z.object({ epoch: nonNegativeInt(), batch: nonNegativeInt() }),
  tokens: nonNegativeInt(),
  seconds: z.number().nonnegative(),
  options: ResumeOptionsSchema,
  data: z.object({ train: DataFingerprintSchema, val: DataFingerprintSchema }),
  weights: z.object({ bytes: nonNegativeInt(), fnv1a: nonNegativeInt() }),
  moments: z.object({ bytes: nonNegativeInt(), fnv1a: nonNegativeInt() }),
  tensors: z.array(z.object({ name: z.string().min(1), shape: z.array(nonNegativeInt()) })),
  history: z.array(z.record(z.string(), z.unknown())),
});
export type OptimizerState = z.infer<typeof OptimizerStateSchema>;

/** Adam's two moments of one tensor, float32, the tensor's shape. */
export interface TensorMoments {
  shape: number[];
  m: Float32Array;
  v: Float32Array;
}

export class OptimizerStateError extends Error {
  override name = "OptimizerStateError";
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** What identifies a sentence file's training content: sizes and FNV-1a over offsets, token ids and vectors. */
export function sentenceSetFingerprint(set: SentenceSet): DataFingerprint {
  let h = fnv1a(bytesOf(set.offsets));
  h = fnv1a(bytesOf(set.tokens), h);
  h = fnv1a(bytesOf(set.vectors), h);
  return { sentences: set.offsets.length - 1, tokens: set.tokens.length, dim: set.dim, articles: set.articles.length, fnv1a: h };
}

/** optimizer.json text and optimizer.bin bytes; `moments` in the state's `tensors` order (filled in here). */
export function encodeOptimizerState(
  state: Omit<OptimizerState, "format" | "version" | "tensors" | "moments">,
  moments: Map<string, TensorMoments>,
): { json: string; bytes: Uint8Array } {
  let total = 0;
  for (const t of moments.values()) total += 8 * t.m.length;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let offset = 0;
  const tensors: OptimizerState["tensors"] = [];
  for (const [name, t] of moments) {
    tensors.push({ name, shape: t.shape });
    for (const part of [t.m, t.v]) {
      for (let i = 0; i < part.length; i++) view.setFloat32(offset + 4 * i, part[i], true);
      offset += 4 * part.length;
    }
  }
  const full: OptimizerState = {
    format: OPTIMIZER_FORMAT,
    version: OPTIMIZER_VERSION,
    ...state,
    moments: { bytes: bytes.length, fnv1a: fnv1a(bytes) },
    tensors,
  };
  return { json: `${JSON.stringify(full, null, 1)}\n`, bytes };
}

/**
 * optimizer.json text + optimizer.bin bytes -> the state and each tensor's moments. Checks the JSON's fields, the
 * binary's size and FNV-1a, and the tensors against `config`'s names and shapes; errors name the file and field.
 */
export function decodeOptimizerState(
  json: string,
  bin: Uint8Array,
  where: string,
): { state: OptimizerState; moments: Map<string, TensorMoments> } {
  const jsonPath = `${where}/${OPTIMIZER_JSON}`;
  const state = parseJsonFile(OptimizerStateSchema, json, jsonPath, (m) => new OptimizerStateError(m));
  if (bin.length !== state.moments.bytes)
    throw new OptimizerStateError(
      `${where}/${OPTIMIZER_BIN}: ${bin.length} bytes, ${OPTIMIZER_JSON} moments.bytes says ${state.moments.bytes} (truncated or not the file it was written with)`,
    );
  if (fnv1a(bin) !== state.moments.fnv1a)
    throw new OptimizerStateError(
      `${where}/${OPTIMIZER_BIN}: FNV-1a ${fnv1a(bin)}, ${OPTIMIZER_JSON} moments.fnv1a says ${state.moments.fnv1a} (corrupted or not the file it was written with)`,
    );
  const expected = decoderTensorShapes(state.options.config);
  if (state.tensors.length !== expected.length)
    throw new OptimizerStateError(
      `${jsonPath}: tensors: ${state.tensors.length} entries, expected ${expected.length} (${expected.map(([n]) => n).join(", ")})`,
    );
  state.tensors.forEach((t, i) => {
    const [name, shape] = expected[i];
    if (t.name !== name || t.shape.join(",") !== shape.join(","))
      throw new OptimizerStateError(`${jsonPath}: tensors.${i}: '${t.name}' [${t.shape}], expected '${name}' [${shape}]`);
  });
  const total = state.tensors.reduce((n, t) => n + 8 * t.shape.reduce((a, b) => a * b, 1), 0);
  if (total !== bin.length)
    throw new OptimizerStateError(`${jsonPath}: tensors hold ${total} bytes of moments, ${OPTIMIZER_BIN} has ${bin.length}`);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const moments = new Map<string, TensorMoments>();
  let offset = 0;
  const read = (n: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(offset + 4 * i, true);
    offset += 4 * n;
    return out;
  };
  for (const t of state.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const m = read(n);
    moments.set(t.name, { shape: t.shape, m, v: read(n) });
  }
  return { state, moments };
}

/**
 * Refuses (naming the field and both values) a state that the resuming run cannot continue exactly: other options,
 * other data, or a model (weights.bin, training.steps) other than the one it was written with.
 */
export function checkResumable(
  state: OptimizerState,
  run: { options: ResumeOptions; data: OptimizerState["data"]; weights: { bytes: number; fnv1a: number }; steps: unknown },
  where: string,
): void {
  const jsonPath = `${where}/${OPTIMIZER_JSON}`;
  if (state.weights.bytes !== run.weights.bytes || state.weights.fnv1a !== run.weights.fnv1a)
    throw new OptimizerStateError(
      `${jsonPath}: weights: written with weights.bin of ${state.weights.bytes} bytes, FNV-1a ${state.weights.fnv1a}; ${where}/weights.bin is ${run.weights.bytes} bytes, FNV-1a ${run.weights.fnv1a} (the model and its state disagree)`,
    );
  if (state.step !== run.steps)
    throw new OptimizerStateError(`${jsonPath}: step: ${state.step}, ${where}/model.json training.steps is ${String(run.steps)}`);
  const o = state.options;
  for (const key of ["lr", "batch", "clip", "seed"] as const)
    if (o[key] !== run.options[key])
      throw new OptimizerStateError(
        `${jsonPath}: options.${key}: the run was ${o[key]}, this one is ${run.options[key]}: pass --${key} ${o[key]}`,
      );
  if (JSON.stringify(o.config) !== JSON.stringify(run.options.config))
    throw new OptimizerStateError(
      `${jsonPath}: options.config: the run was ${JSON.stringify(o.config)}, this one is ${JSON.stringify(run.options.config)}`,
    );
  for (const split of ["train", "val"] as const) {
    const a = state.data[split];
    const b = run.data[split];
    for (const key of ["sentences", "tokens", "dim", "articles", "fnv1a"] as const)
      if (a[key] !== b[key])
        throw new OptimizerStateError(
          `${jsonPath}: data.${split}.${key}: the run's ${split} file had ${a[key]}, this one has ${b[key]} (not the same sentence file)`,
        );
  }
}

/** The moments of `tensors` as zeros (a run saved before its first step: Adam's state is still its initial one). */
export function zeroMoments(tensors: TensorMap): Map<string, TensorMoments> {
  const moments = new Map<string, TensorMoments>();
  for (const [name, t] of tensors)
    moments.set(name, { shape: t.shape, m: new Float32Array(t.data.length), v: new Float32Array(t.data.length) });
  return moments;
}
