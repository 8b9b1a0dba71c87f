// In-browser mode's sentence encoder: USE-lite INT8 on the page's WASM core, from the edge weights the Worker
// also reads (/use-lite-int8-edge.bin, 7.4 MB), downloaded once, on the first typed text that needs it. Node
// runs the same file under LVM_USE_LITE=int8-edge, so both modes embed a text alike.
import type { WasmCore } from "../../core/wasm-core.ts";
import { normalizeText } from "../../encoders/normalize-text.ts";
import type { Encoder } from "../../encoders/types.ts";
import { createUseLiteCoreEncoder } from "../../encoders/use-lite-core.ts";
import { USE_LITE_EDGE_FILE } from "../../encoders/use-lite-core-format.ts";

let encoder: Promise<Encoder> | undefined;
let loaded = false;

/** True once the encoder is ready (until then the status line says it is loading). */
export const pageEncoderLoaded = () => loaded;

/**
 * The encoder on `core`, loaded on the first call (a failed download is retried by the next). It reads texts as
 * the API's schemas hand them to the server's encoder: normalised (normalizeText), then trimmed.
 */
export function pageEncoder(core: WasmCore): Promise<Encoder> {
  encoder ??= load(core).catch((error) => {
    encoder = undefined;
    throw error;
  });
  return encoder;
}

async function load(core: WasmCore): Promise<Encoder> {
  const res = await fetch(`/${USE_LITE_EDGE_FILE}`);
  if (!res.ok) throw new Error(`the sentence encoder's weights (/${USE_LITE_EDGE_FILE}): HTTP ${res.status}`);
  const use = createUseLiteCoreEncoder(core, new Uint8Array(await res.arrayBuffer()), { maxBatchTokens: 512 });
  loaded = true;
  return { id: use.id, dim: use.dim, embed: (texts) => use.embed(texts.map((t) => normalizeText(t).trim())) };
}
