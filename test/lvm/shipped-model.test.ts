import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { readModel } from "../../src/lvm/read-model.ts";
import { forward, type ReferenceModel } from "../../src/lvm/reference.ts";
import { CoreLvm } from "../../src/lvm/runners/core-lvm.ts";
import type { ConceptStore } from "../../src/store/concept-store.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, cosine, tempDir } from "../helpers.ts";

// The model the embedded default serves, on real concept windows (mini tier: articles it never saw).
// models/gru-edge is the INT8 file; readModel dequantizes it to float32, and that is the reference here: the
// float32 model it was quantized from is not shipped, so this checks the core's kernels against the same
// file's dequantized weights, not INT8 against the original float model. The recall of the INT8 core against
// the same reference over the dev1k test split: `lvm eval --backend core-int8 --reference tf` (docs/training.md).
const MODEL_DIR = fileURLToPath(new URL("../../models/gru-edge/", import.meta.url));

describe.skipIf(!existsSync(MODEL_DIR))(
  "shipped edge GRU (INT8 file) on the WASM core vs the TypeScript reference on its dequantized weights",
  () => {
    let store: ConceptStore;
    let model: ReferenceModel;
    let contexts: Float32Array;
    const batch = 256;

    beforeAll(async () => {
      await using dir = await tempDir();
      store = await readStore(await buildMiniStore(dir.path));
      model = await readModel(MODEL_DIR);
      // Windows of 5 consecutive concepts inside one document, spread over the tier.
      contexts = new Float32Array(batch * 5 * store.dim);
      let n = 0;
      for (const doc of store.documents) {
        for (let start = doc.first; start + 5 <= doc.first + doc.count && n < batch; start += 7) {
          contexts.set(store.vectors.subarray(start * store.dim, (start + 5) * store.dim), n * 5 * store.dim);
          n++;
        }
      }
      expect(n).toBe(batch);
    });

    it.each(["relaxed", "simd"] as const)(
      "core-%s: f32 kernels within 1e-4 of the reference, INT8 kernels cosine >= 0.995 to it on every window",
      async (variant) => {
        const core = await loadCore(variant);
        const reference = forward(model, contexts, batch);
        const f32 = new CoreLvm(core, model, "f32");
        const int8 = new CoreLvm(core, model, "int8");
        const a = f32.forward(contexts, batch);
        const b = int8.forward(contexts, batch);
        let maxDiff = 0;
        for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - reference[i]));
        expect(maxDiff).toBeLessThan(1e-4);
        let minCos = 1;
        for (let r = 0; r < batch; r++)
          minCos = Math.min(minCos, cosine(b.subarray(r * 512, (r + 1) * 512), reference.subarray(r * 512, (r + 1) * 512)));
        expect(minCos).toBeGreaterThanOrEqual(0.995);
        f32.dispose();
        int8.dispose();
      },
    );
  },
);
