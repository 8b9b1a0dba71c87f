// Settings shared by the sections of the LVM bench (bench/lvm.ts).
import { fileURLToPath } from "node:url";

export const DIM = 512;
export const BATCHES = [1, 32];
/** Seconds of interleaved timed calls per model at batch 1 and at batch 32 (LVM_BENCH_SCALE scales both). */
const SCALE = Number(process.env.LVM_BENCH_SCALE ?? 1);
export const SECONDS_B1 = 4 * SCALE;
export const SECONDS_B32 = 9 * SCALE;
export const MIN_ITERATIONS = 5;
/** Passes over all queries in the search section. */
export const ROUNDS = 3;
export const STORE = process.env.LVM_BENCH_STORE ?? fileURLToPath(new URL("../../.lvm/dev1k", import.meta.url));

/** 3 significant-ish digits for the tables. */
export function fmt(x: number, digits = 2): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits);
}
