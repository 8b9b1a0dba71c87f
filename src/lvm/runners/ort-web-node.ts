// Node adapter for onnxruntime-web: serve its .wasm/.mjs files from the installed package's dist folder.
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { type OrtWebOptions, OrtWebRunner, ortWeb } from "./ort-web.ts";
import type { RunnerShape } from "./types.ts";

let configured = false;

/** Points onnxruntime-web at node_modules/onnxruntime-web/dist/ (once per process). */
export function configureOrtWebForNode(): void {
  if (configured) return;
  const entry = createRequire(import.meta.url).resolve("onnxruntime-web");
  ortWeb.env.wasm.wasmPaths = `${pathToFileURL(dirname(entry)).href}/`;
  configured = true;
}

export async function createOrtWebRunner(onnx: Uint8Array, shape: RunnerShape, options: OrtWebOptions = {}): Promise<OrtWebRunner> {
  configureOrtWebForNode();
  return OrtWebRunner.create(onnx, shape, options);
}
