/**
 * The decoder as a server route or CLI calls it (runtime-agnostic): unit vectors in, generated texts out, each with
 * the cosine of its re-embedding to its vector and the refinement steps it took. Node builds one with
 * loadVectorDecoder (vector-decoder-node.ts); a Worker can build one from its own core, model bytes and encoder.
 */
import type { Encoder } from "../encoders/types.ts";
import { targetDim } from "./model-format.ts";
import { checkTargetVector, type DecodedText, DecoderInputError, decodeAndRefine, type RefineOptions } from "./refine.ts";
import type { DecoderRunner } from "./runner.ts";

export interface VectorDecoder {
  readonly dim: number;
  readonly encoderId: string;
  /** vectors [count, dim] -> one DecodedText per vector; a malformed vector throws DecoderInputError naming its index. */
  decode(vectors: Float32Array, count: number, options?: RefineOptions): Promise<DecodedText[]>;
}

/**
 * Throws DecoderInputError naming the first problem of `count` vectors [count, dim]: the size, then each vector
 * (checked before any is decoded, so one bad row fails fast and by name).
 */
export function checkDecodeInput(vectors: Float32Array, count: number, dim: number): void {
  if (!Number.isInteger(count) || count < 0 || vectors.length !== count * dim)
    throw new DecoderInputError(`expected ${count} vectors of ${dim} values (${count * dim}), got ${vectors.length} values`);
  for (let i = 0; i < count; i++) checkTargetVector(vectors.subarray(i * dim, (i + 1) * dim), dim, `vectors[${i}]`);
}

export function createVectorDecoder(runner: DecoderRunner, encoder: Encoder, pieces: readonly string[]): VectorDecoder {
  const dim = targetDim(runner.config);
  if (encoder.dim !== dim) throw new Error(`the decoder reads ${dim}-D vectors, the encoder '${encoder.id}' writes ${encoder.dim}-D`);
  if (pieces.length !== runner.config.vocab)
    throw new Error(`the decoder has ${runner.config.vocab} pieces, the encoder's vocabulary ${pieces.length}`);
  const embed = (texts: readonly string[]) => encoder.embed(texts);
  // Candidates ranked by the encoder's faster vectors where it has them; the answers' cosines are embed's (refine.ts).
  const rank = encoder.embedForRanking ? (texts: readonly string[]) => encoder.embedForRanking!(texts) : embed;
  return {
    dim,
    encoderId: encoder.id,
    async decode(vectors, count, options) {
      checkDecodeInput(vectors, count, dim);
      const out: DecodedText[] = [];
      for (let i = 0; i < count; i++)
        out.push(await decodeAndRefine(runner, embed, pieces, vectors.subarray(i * dim, (i + 1) * dim), options, rank));
      return out;
    },
  };
}
