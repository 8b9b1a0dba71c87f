/**
 * The base64 form of a request vector, `{"b64": "..."}`: the vector's float32 values, little-endian, 4 bytes
 * each (dim 512 = 2,048 bytes = 2,732 base64 characters, against ~10 KB as JSON numbers), standard base64
 * alphabet (RFC 4648 section 4) with padding. Decoded here, where the store's dim is known; a bad string, a
 * wrong byte length or a NaN/Infinity value is a 400 naming the request field (e.g. `context.2.b64`).
 * atob/btoa: present on Node, Workers and browsers.
 */
import { RequestError } from "./errors.ts";

export interface VectorB64 {
  b64: string;
}

/** The float32 values of `b64` (exactly `dim`, all finite), or a RequestError naming `field`. */
export function decodeVectorB64(b64: string, dim: number, field: string): Float32Array {
  let bytes: string;
  try {
    bytes = atob(b64);
  } catch {
    throw new RequestError(400, "bad_base64", "not valid base64 (standard alphabet A-Z a-z 0-9 + /, '=' padding)", field);
  }
  if (bytes.length !== dim * 4)
    throw new RequestError(
      400,
      "wrong_dim",
      `base64 vector has ${bytes.length} bytes; the store and model use dim ${dim} (${dim * 4} bytes of little-endian float32)`,
      field,
    );
  const view = new DataView(new ArrayBuffer(bytes.length));
  for (let i = 0; i < bytes.length; i++) view.setUint8(i, bytes.charCodeAt(i));
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    const v = view.getFloat32(j * 4, true);
    if (!Number.isFinite(v)) throw new RequestError(400, "not_finite", `value ${j} is ${v}: vectors must be finite`, field);
    out[j] = v;
  }
  return out;
}

/** `{b64}` for a vector: its values as little-endian float32, base64. */
export function encodeVectorB64(values: ArrayLike<number>): VectorB64 {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  for (let j = 0; j < values.length; j++) view.setFloat32(j * 4, values[j], true);
  const bytes = new Uint8Array(view.buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x2000) s += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  return { b64: btoa(s) };
}
