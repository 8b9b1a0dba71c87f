// In-browser mode's sentence encoder: USE-lite INT8 on the page's WASM core, from the edge weights the Worker
// also reads (/use-lite-int8-edge.bin, 7.4 MB), downloaded once, on the first typed text that needs it. Node
// runs the same file under LVM_USE_LITE=int8-edge, so both modes embed a text alike.
import type { WasmCore } from "../../core/wasm-core.ts";
import { normalizeText } from "../../encoders/normalize-text.ts";
import type { Encoder } from "../../encoders/types.ts";
import { createUseLiteCoreEncoder } from "../../encoders/use-lite-core.ts";
import { readUseLiteCoreFile, USE_LITE_EDGE_FILE } from "../../encoders/use-lite-core-format.ts";

/** The encoder, and its SentencePiece pieces in id order (the in-browser decoder's detokenizer, page-decoder.ts). */
export interface PageEncoder {
  /** Reads texts as the API hands them to the server's encoder (normalised, trimmed). */
  encoder: Encoder;
  /** The same encoder reading texts as they are, as the server's decoder re-embeds its hypotheses. */
  useLite: Encoder;
  pieces: string[];
}

let encoder: Promise<PageEncoder> | undefined;
let loaded = false;

/** True once the encoder is ready (until then the status line says it is loading). */
export const pageEncoderLoaded = () => loaded;

/**
 * The encoder on `core`, loaded on the first call (a failed download is retried by the next). It reads texts as
 * the API's schemas hand them to the server's encoder: normalised (normalizeText), then trimmed.
 */
export async function pageEncoder(core: WasmCore): Promise<Encoder> {
  return (await pageUseLite(core)).encoder;
}

/** pageEncoder's encoder with its pieces (read from the same weights file: ~10 ms, so not worth deferring). */
export function pageUseLite(core: WasmCore): Promise<PageEncoder> {
  encoder ??= load(core).catch((error) => {
    encoder = undefined;
    throw error;
  });
  return encoder;
}

async function load(core: WasmCore): Promise<PageEncoder> {
  const res = await fetch(`/${USE_LITE_EDGE_FILE}`);
  if (!res.ok) throw new Error(`the sentence encoder's weights (/${USE_LITE_EDGE_FILE}): HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const use = createUseLiteCoreEncoder(core, bytes, { maxBatchTokens: 512 });
  const pieces = readUseLiteCoreFile(bytes).vocabulary.map(([piece]) => piece);
  loaded = true;
  return {
    encoder: { id: use.id, dim: use.dim, embed: (texts) => use.embed(texts.map((t) => normalizeText(t).trim())) },
    useLite: use,
    pieces,
  };
}
