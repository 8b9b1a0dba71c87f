import type { Encoder } from "../encoders/types.ts";
import { ApiError } from "./errors.ts";

export interface ContextVectors {
  /** [context, dim] unit rows, oldest first. */
  vectors: Float32Array;
  embedMs?: number;
}

/**
 * Turns the request's context (texts and/or vectors) into exactly `context` unit vectors: the last
 * `context` items are used; a shorter context is left-padded by repeating its first item, so one
 * sentence is a valid (if weak) context.
 */
export async function contextVectors(
  items: (string | number[])[],
  context: number,
  dim: number,
  encoder: (() => Promise<Encoder>) | undefined,
): Promise<ContextVectors> {
  const first = Math.max(0, items.length - context);
  const used = items.slice(first);
  const rows = new Float32Array(used.length * dim);
  const texts: { index: number; text: string }[] = [];
  used.forEach((item, i) => {
    const field = `context.${first + i}`;
    if (typeof item === "string") {
      texts.push({ index: i, text: item });
      return;
    }
    if (item.length !== dim)
      throw new ApiError(400, "wrong_dim", `vector has ${item.length} values; the store and model use dim ${dim}`, field);
    let norm = 0;
    for (const v of item) norm += v * v;
    if (norm === 0) throw new ApiError(400, "zero_vector", "vector is all zeros", field);
    const inv = 1 / Math.sqrt(norm);
    item.forEach((v, j) => {
      rows[i * dim + j] = v * inv;
    });
  });
  let embedMs: number | undefined;
  if (texts.length > 0) {
    if (!encoder)
      throw new ApiError(400, "text_unsupported", "this deployment has no text encoder: send vectors", `context.${first + texts[0].index}`);
    const enc = await encoder();
    const started = performance.now();
    const embedded = await enc.embed(texts.map((t) => t.text));
    embedMs = performance.now() - started;
    texts.forEach((t, j) => {
      rows.set(embedded.subarray(j * dim, (j + 1) * dim), t.index * dim);
    });
  }
  const vectors = new Float32Array(context * dim);
  const pad = context - used.length;
  for (let t = 0; t < context; t++) vectors.set(rows.subarray(Math.max(0, t - pad) * dim, (Math.max(0, t - pad) + 1) * dim), t * dim);
  return { vectors, embedMs };
}
