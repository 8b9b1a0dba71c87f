/**
 * Vectors to decode, from the two inputs `lvm decode` reads (runtime-agnostic):
 *   .f32   little-endian float32 rows of `dim` values, back to back (no header)
 *   JSON   {"vectors": [[x, ...], ...]} or a bare [[x, ...], ...]
 * Sizes are checked here (naming the file and row); finiteness and zero rows are checked by the decoder.
 */
import { z } from "zod";
import { parseJsonFile } from "../validate/parse-file.ts";
import { DecoderInputError } from "./refine.ts";

export function vectorsFromF32(bytes: Uint8Array, dim: number, where: string): { vectors: Float32Array; count: number } {
  const row = 4 * dim;
  if (bytes.length === 0 || bytes.length % row !== 0)
    throw new DecoderInputError(`${where}: ${bytes.length} bytes is not a whole number of ${dim}-value float32 rows (${row} bytes each)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vectors = Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
  return { vectors, count: bytes.length / row };
}

/** A bare array is read as {"vectors": array}, so errors name the field alike ("vectors.0.7: ..."). */
const VectorsJsonSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { vectors: value } : value),
  z.object({ vectors: z.array(z.array(z.number({ error: "expected a finite number" }))).min(1) }),
);

export function vectorsFromJson(text: string, dim: number, where: string): { vectors: Float32Array; count: number } {
  const parsed = parseJsonFile(VectorsJsonSchema, text, where, (m) => new DecoderInputError(m));
  const rows = parsed.vectors;
  rows.forEach((r, i) => {
    if (r.length !== dim) throw new DecoderInputError(`${where}: vectors[${i}] has ${r.length} values, expected ${dim}`);
  });
  const vectors = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    vectors.set(r, i * dim);
  });
  return { vectors, count: rows.length };
}
