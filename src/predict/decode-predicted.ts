/**
 * Text for predicted vectors (`decode: true`): the deps' vector-to-text decoder, checked against the store before
 * the model runs (decoderFor), then one decode call for every vector of the request (decodePredicted).
 */
import { DecoderInputError } from "../decoder/refine.ts";
import type { VectorDecoder } from "../decoder/vector-decoder.ts";
import { RequestError } from "./errors.ts";
import type { DecodeRequest, GeneratedText, PredictDeps } from "./types.ts";

export const NO_DECODER_MESSAGE =
  "decode: true needs the vector-to-text decoder, and this deployment has none: on Node, start the server with LVM_DECODER=<decoder dir> (or put the decoder in models/decoder/, where the repository ships one); on the Worker, put it in models/decoder/ and run npm run build:worker-assets before deploying";

/** The loaded decoder when the request asks for text, else undefined; a 501/503 when it cannot decode this store's vectors. */
export async function decoderFor(deps: PredictDeps, request: DecodeRequest): Promise<VectorDecoder | undefined> {
  if (!request.decode) return undefined;
  if (!deps.decoder) throw new RequestError(501, "decoder_unavailable", NO_DECODER_MESSAGE, "decode");
  let decoder: VectorDecoder;
  try {
    decoder = await deps.decoder();
  } catch (error) {
    throw new RequestError(503, "decoder_unavailable", `the vector-to-text decoder failed to load: ${(error as Error).message}`, "decode");
  }
  const { dim, encoder } = deps.store;
  if (decoder.dim !== dim || decoder.encoderId !== encoder.id)
    throw new RequestError(
      501,
      "decoder_store_mismatch",
      `the decoder reads ${decoder.dim}-D vectors of '${decoder.encoderId}', the store holds ${dim}-D vectors of '${encoder.id}'`,
      "decode",
    );
  return decoder;
}

/** vectors [count, dim] -> one GeneratedText each; a vector the decoder refuses is a 400 naming what is wrong. */
export async function decodePredicted(
  decoder: VectorDecoder,
  vectors: Float32Array,
  count: number,
  options: DecodeRequest["decodeOptions"],
): Promise<GeneratedText[]> {
  try {
    const decoded = await decoder.decode(vectors, count, options);
    return decoded.map((d) => ({ generated: true, text: d.text, cosine: d.cosine, steps: d.steps }));
  } catch (error) {
    if (error instanceof DecoderInputError)
      throw new RequestError(400, "undecodable_vector", `the predicted vector cannot be decoded: ${error.message}`, "decode");
    throw error;
  }
}
