// Node adapter: compiles the core from wasm/build/core.wasm (built by `npm run build`).
import { readFile } from "node:fs/promises";
import { WasmCore } from "./wasm-core.ts";

export const CORE_WASM_PATH = new URL("../../wasm/build/core.wasm", import.meta.url);

let shared: Promise<WasmCore> | undefined;

/** One core instance per process (its memory holds the loaded models and vectors). */
export function loadCore(): Promise<WasmCore> {
  shared ??= readFile(CORE_WASM_PATH)
    .catch(() => {
      throw new Error(`${CORE_WASM_PATH.pathname} is missing: run 'npm run build' (npm install does it)`);
    })
    .then((bytes) => WebAssembly.compile(bytes))
    .then((module) => WasmCore.instantiate(module));
  return shared;
}
