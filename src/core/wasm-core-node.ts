// Node adapter: compiles the core from wasm/build/ (built by `npm run build`): core-relaxed.wasm where
// this V8 validates relaxed SIMD, else core.wasm (plain SIMD, same results up to INT8 rounding).
import { readFile } from "node:fs/promises";
import { WasmCore } from "./wasm-core.ts";

export const CORE_WASM_PATH = new URL("../../wasm/build/core.wasm", import.meta.url);
export const CORE_RELAXED_WASM_PATH = new URL("../../wasm/build/core-relaxed.wasm", import.meta.url);

export type CoreVariant = "relaxed" | "simd";

const shared = new Map<CoreVariant | "auto", Promise<WasmCore>>();

async function compile(path: URL): Promise<WebAssembly.Module> {
  const bytes = await readFile(path).catch(() => {
    throw new Error(`${path.pathname} is missing: run 'npm run build' (npm install does it)`);
  });
  return WebAssembly.compile(bytes);
}

/**
 * One core instance per process and variant (its memory holds the loaded models and vectors). "auto"
 * (default) takes the relaxed build when this engine accepts it; LVM_CORE=simd forces the plain one.
 */
export function loadCore(variant: CoreVariant | "auto" = (process.env.LVM_CORE as CoreVariant | undefined) ?? "auto"): Promise<WasmCore> {
  let core = shared.get(variant);
  if (!core) {
    core = (async () => {
      if (variant !== "simd") {
        try {
          return await WasmCore.instantiate(await compile(CORE_RELAXED_WASM_PATH));
        } catch (error) {
          if (variant === "relaxed") throw error;
        }
      }
      return WasmCore.instantiate(await compile(CORE_WASM_PATH));
    })();
    shared.set(variant, core);
  }
  return core;
}
