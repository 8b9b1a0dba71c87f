// The training checkpoint in `<out>/checkpoint/`: `last/` (the model after the latest epoch, written by
// writeModel), `optimizer.bin` + `optimizer.json` (Adam's moments: float32 data and [{name, shape}]) and
// `state.json` (CheckpointState). Written every epoch, removed when training ends.
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { writeFileAtomic, writeFilesAtomic } from "../fs/atomic-write-node.ts";
import type { ModelManifest, TensorMap } from "../lvm/model-format.ts";
import { readModel, writeModel } from "../lvm/read-model.ts";
import { nonNegativeInt, parseJsonFile } from "../validate/parse-file.ts";
import type { TrainOptions } from "./options.ts";
import type { EpochRecord } from "./progress.ts";

export interface CheckpointState {
  options: TrainOptions;
  nextEpoch: number;
  globalStep: number;
  bestValR5: number;
  bestEpoch: number;
  history: EpochRecord[];
  wallSeconds: number;
  done: boolean;
}

/** optimizer.json: [{name, shape}] in the order of optimizer.bin. */
export const OptimizerMetaSchema = z.array(z.object({ name: z.string(), shape: z.array(nonNegativeInt()) }));

/** state.json; `options` and `history` are checked as objects (their fields come from this build's own writer). */
export const CheckpointStateSchema = z.object({
  options: z.record(z.string(), z.unknown()),
  nextEpoch: nonNegativeInt(),
  globalStep: nonNegativeInt(),
  bestValR5: z.number(),
  bestEpoch: z.int(),
  history: z.array(z.record(z.string(), z.unknown())),
  wallSeconds: z.number(),
  done: z.boolean(),
});

export function parseCheckpointState(text: string, where: string): CheckpointState {
  return parseJsonFile(CheckpointStateSchema, text, where) as unknown as CheckpointState;
}

export const checkpointDir = (out: string) => join(out, "checkpoint");

async function saveOptimizer(dir: string, optimizer: tf.Optimizer): Promise<void> {
  const weights = await optimizer.getWeights();
  const meta = weights.map((w) => ({ name: w.name, shape: w.tensor.shape }));
  const total = weights.reduce((n, w) => n + w.tensor.size, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const w of weights) {
    data.set(w.tensor.dataSync() as Float32Array, o);
    o += w.tensor.size;
  }
  await writeFilesAtomic(dir, [
    { name: "optimizer.bin", data: new Uint8Array(data.buffer) },
    { name: "optimizer.json", data: JSON.stringify(meta) },
  ]);
}

export async function loadOptimizer(dir: string, optimizer: tf.Optimizer): Promise<void> {
  const metaPath = join(dir, "optimizer.json");
  const meta = parseJsonFile(OptimizerMetaSchema, await readFile(metaPath, "utf8"), metaPath);
  const bytes = await readFile(join(dir, "optimizer.bin"));
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let o = 0;
  const weights = meta.map((m) => {
    const n = m.shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(data.subarray(o, o + n), m.shape);
    o += n;
    return { name: m.name, tensor };
  });
  await optimizer.setWeights(weights);
}

/** The state of an interrupted run in `<out>`, for `--resume`. */
export async function readCheckpointState(out: string): Promise<CheckpointState> {
  const ckpt = checkpointDir(out);
  const path = join(ckpt, "state.json");
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) throw new Error(`nothing to resume: ${path} is missing`);
  const state = parseCheckpointState(text, path);
  if (state.done) throw new Error(`training in ${out} already finished`);
  return state;
}

/** The model saved after the latest epoch (its weights, and in its manifest the split it was trained on). */
export async function readCheckpointModel(out: string): Promise<{ manifest: ModelManifest; tensors: TensorMap }> {
  return readModel(join(checkpointDir(out), "last"));
}

/** Writes the epoch's weights, the optimizer and the state (state last, so a kill leaves the previous epoch resumable). */
export async function saveCheckpoint(
  out: string,
  manifest: Omit<ModelManifest, "tensors">,
  tensors: TensorMap,
  optimizer: tf.Optimizer,
  state: CheckpointState,
): Promise<void> {
  const ckpt = checkpointDir(out);
  await mkdir(ckpt, { recursive: true });
  await writeModel(join(ckpt, "last"), manifest, tensors);
  await saveOptimizer(ckpt, optimizer);
  await writeFileAtomic(join(ckpt, "state.json"), JSON.stringify(state));
}

/** Marks the run finished (a kill before the removal makes --resume say so) and removes the checkpoint. */
export async function removeCheckpoint(out: string, state: CheckpointState): Promise<void> {
  const ckpt = checkpointDir(out);
  await writeFileAtomic(join(ckpt, "state.json"), JSON.stringify(state));
  await rm(ckpt, { recursive: true, force: true });
}
