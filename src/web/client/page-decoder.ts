// In-browser mode's vector-to-text decoder ("Say it"): the deployment's decoder files (/decoder/model.json and
// /decoder/weights.bin, ~12 MB, staged into public/ by the build), downloaded on the first prediction that asks for
// text, run INT8 on the page's WASM core with the page's USE-lite re-embedding its hypotheses: the same runtime-
// agnostic builder the Worker uses (vectorDecoderFromFiles), so the prediction service refines as on the server.
import type { WasmCore } from "../../core/wasm-core.ts";
import type { VectorDecoder } from "../../decoder/vector-decoder.ts";
import { vectorDecoderFromFiles } from "../../decoder/vector-decoder-files.ts";
import { pageUseLite } from "./page-encoder.ts";

export const PAGE_DECODER_FILES = { manifest: "/decoder/model.json", weights: "/decoder/weights.bin" } as const;

/** What the page knows of the deployment's decoder: not asked for yet, loaded, or absent (its files 404). */
export type PageDecoderState = "unknown" | "loaded" | "absent";

let decoder: Promise<VectorDecoder | undefined> | undefined;
let state: PageDecoderState = "unknown";

export const pageDecoderState = () => state;

/**
 * The decoder on `core`, loaded on the first call; undefined where the deployment has none (both files 404). A
 * failed download or a malformed file throws, and the next call tries again.
 */
export function pageDecoder(core: WasmCore): Promise<VectorDecoder | undefined> {
  decoder ??= load(core).catch((error) => {
    decoder = undefined;
    throw error;
  });
  return decoder;
}

async function load(core: WasmCore): Promise<VectorDecoder | undefined> {
  const [manifest, weights, use] = await Promise.all([
    fetch(PAGE_DECODER_FILES.manifest),
    fetch(PAGE_DECODER_FILES.weights),
    pageUseLite(core),
  ]);
  if (manifest.status === 404 && weights.status === 404) {
    state = "absent";
    return undefined;
  }
  for (const [res, path] of [
    [manifest, PAGE_DECODER_FILES.manifest],
    [weights, PAGE_DECODER_FILES.weights],
  ] as const)
    if (!res.ok) throw new Error(`the decoder's ${path}: HTTP ${res.status}`);
  const files = { manifestText: await manifest.text(), weights: new Uint8Array(await weights.arrayBuffer()), source: "/decoder" };
  const built = vectorDecoderFromFiles(core, files, use.useLite, use.pieces, "int8").decoder;
  state = "loaded";
  return built;
}
