// core-relaxed.wasm: the whole core plus the relaxed-SIMD kernels (relaxed.ts). Loaded only where the
// engine validates relaxed SIMD; core.wasm (plain SIMD) is the fallback with the same results.
export * from "./index";
export { linearI8U7Packed, packedI8U7Bytes, packI8U7 } from "./packed-relaxed";
export { linearI8U7, quantizeRowsU7, scoresI8U7 } from "./relaxed";
