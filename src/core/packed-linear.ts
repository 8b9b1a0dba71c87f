/**
 * Dense layers on the WASM core, shared by the LVM runner (src/lvm/runners/core-lvm.ts) and the decoder
 * (src/decoder/core-decoder.ts): y [rows, out] = x [rows, in] @ W + b with W held [out, in], in f32 or INT8 with
 * one scale per output row. INT8 weights are laid out once for the register-blocked kernel of the loaded build
 * (packI8U7 on relaxed SIMD, packI8 on plain SIMD: wasm/assembly/packed*.ts); their input activations are
 * quantised per row at run time (u7 on relaxed SIMD, i16 codes on plain SIMD).
 */
import type { CoreBuffer, WasmCore } from "./wasm-core.ts";

export type LinearPrecision = "f32" | "int8";

export interface PackedLinear {
  inDim: number;
  outDim: number;
  /** f32 [out, in], or INT8 packed for the build's kernel (the relaxed layout holds 64 * row sums too). */
  w: CoreBuffer;
  /** INT8 only: one scale per output row. */
  scales?: CoreBuffer;
  /** INT8 only: which packed kernel `w` is laid out for. */
  int8Kernel?: "relaxed" | "simd";
  /** Host copy of the bias (a recurrent step whose input is zero starts from it). */
  biasHost?: Float32Array;
  bias?: CoreBuffer;
}

/** Per-output-row symmetric INT8 of a [out, in] matrix. */
export function quantizePerRow(w: Float32Array, outDim: number, inDim: number): { q: Int8Array; scales: Float32Array } {
  const q = new Int8Array(w.length);
  const scales = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let max = 0;
    for (let i = 0; i < inDim; i++) max = Math.max(max, Math.abs(w[o * inDim + i]));
    const s = max > 0 ? max / 127 : 1;
    scales[o] = s;
    for (let i = 0; i < inDim; i++) q[o * inDim + i] = Math.round(w[o * inDim + i] / s);
  }
  return { q, scales };
}

/** Named core buffers reused across calls, grown when a call needs more (no allocation per call once warm). */
export class CoreScratch {
  private readonly core: WasmCore;
  private readonly buffers = new Map<string, CoreBuffer>();
  constructor(core: WasmCore) {
    this.core = core;
  }
  get(name: string, bytes: number): CoreBuffer {
    const existing = this.buffers.get(name);
    if (existing && existing.bytes >= bytes) return existing;
    existing?.free();
    const b = this.core.buffer(bytes);
    this.buffers.set(name, b);
    return b;
  }
  free(): void {
    for (const b of this.buffers.values()) b.free();
    this.buffers.clear();
  }
}

/** Copies W [out, in] (and its bias) into core memory for `precision`; `name` only labels errors. */
export function packLinear(
  core: WasmCore,
  name: string,
  w: Float32Array,
  inDim: number,
  outDim: number,
  bias: Float32Array | null,
  precision: LinearPrecision,
): PackedLinear {
  if (inDim % 16 !== 0) throw new Error(`layer ${name}: input width ${inDim} is not a multiple of 16, which the core's SIMD kernels need`);
  if (precision === "int8") {
    const { q, scales } = quantizePerRow(w, outDim, inDim);
    return packInt8Linear(core, q, scales, inDim, outDim, bias);
  }
  return withBias(core, { inDim, outDim, w: core.fromF32(w) }, bias);
}

/**
 * Copies INT8 rows already quantised per output row (q [out, in], scales [out], as quantizePerRow makes them; an
 * INT8 model file stores exactly these) into core memory, packed for this build's INT8 kernel.
 */
export function packInt8Linear(
  core: WasmCore,
  q: Int8Array,
  scales: Float32Array,
  inDim: number,
  outDim: number,
  bias: Float32Array | null,
): PackedLinear {
  const e = core.exports;
  const rows = core.fromI8(q);
  const relaxed = !!(core.relaxed && e.packedI8U7Bytes && e.packI8U7 && e.linearI8U7Packed && e.quantizeRowsU7);
  const packed = core.buffer(relaxed ? e.packedI8U7Bytes!(outDim, inDim) : e.packedI8Bytes(outDim, inDim));
  if (relaxed) e.packI8U7!(rows.aligned, outDim, inDim, packed.aligned);
  else e.packI8(rows.aligned, outDim, inDim, packed.aligned);
  rows.free();
  return withBias(core, { inDim, outDim, w: packed, scales: core.fromF32(scales), int8Kernel: relaxed ? "relaxed" : "simd" }, bias);
}

function withBias(core: WasmCore, layer: PackedLinear, bias: Float32Array | null): PackedLinear {
  if (bias) {
    layer.bias = core.fromF32(bias);
    layer.biasHost = bias;
  }
  return layer;
}

/**
 * y [rows, out] = x [rows, in] @ W + b, quantising x per row when INT8 (codes in `scratch`). `sameInput`: x is the
 * input of the previous call on the same scratch (same width and kernel), whose codes are still there: skip quantising.
 */
export function runLinear(
  core: WasmCore,
  l: PackedLinear,
  x: CoreBuffer,
  rows: number,
  y: CoreBuffer,
  scratch: CoreScratch,
  sameInput = false,
): void {
  const e = core.exports;
  const bias = l.bias?.aligned ?? 0;
  if (!l.scales) {
    e.linearF32(x.aligned, l.w.aligned, bias, y.aligned, rows, l.inDim, l.outDim);
    return;
  }
  // u7 codes take 1 byte, i16 codes 2.
  const xq = scratch.get("xq", rows * l.inDim * 2);
  const xs = scratch.get("xs", rows * 4);
  if (l.int8Kernel === "relaxed") {
    if (!sameInput) e.quantizeRowsU7!(x.aligned, rows, l.inDim, xq.aligned, xs.aligned);
    e.linearI8U7Packed!(xq.aligned, xs.aligned, l.w.aligned, l.scales.aligned, bias, y.aligned, rows, l.inDim, l.outDim);
  } else {
    if (!sameInput) e.quantizeRowsI16(x.aligned, rows, l.inDim, xq.aligned, xs.aligned);
    e.linearI8Packed(xq.aligned, xs.aligned, l.w.aligned, l.scales.aligned, bias, y.aligned, rows, l.inDim, l.outDim);
  }
}

/** Bytes a layer holds in core memory. */
export function linearBytes(l: PackedLinear): number {
  return l.w.bytes + (l.scales?.bytes ?? 0) + (l.bias?.bytes ?? 0);
}

export function freeLinear(l: PackedLinear): void {
  l.w.free();
  l.scales?.free();
  l.bias?.free();
}
