// lvm-edge WASM SIMD core: INT8 and f32 kernels for the LVMs and exact search. Every export is checked
// against the plain TypeScript reference (src/lvm/reference.ts, src/index/exact.ts) by the tests.
// index-relaxed.ts builds the same core plus relaxed-SIMD kernels into core-relaxed.wasm.

export {
  attentionPacked,
  embedTokensF32,
  embedTokensI16,
  layerNormEps,
  meanPoolPacked,
  quantizeRowsI16Levels,
  reluInPlace,
  tanhInPlace,
} from "./encoder";
export { hnswSearch } from "./hnsw";
export { linearF32, linearI8, quantizeRows } from "./linear";
export { alloc, free } from "./memory";
export { gelu } from "./gelu";
export { addInPlace, addRowsCyclic, attention, gruGates, l2NormalizeRows, layerNorm, logSumExpRows, lstmGates } from "./nn";
export { linearI8Packed, packedI8Bytes, packI8, quantizeRowsI16 } from "./packed";
export { rowSumsI8, searchI8, selectTopK } from "./search";
export { topKRows } from "./topk";
