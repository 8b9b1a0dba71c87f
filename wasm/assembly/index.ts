// lvm-edge WASM SIMD core: INT8 and f32 kernels for the LVMs and exact search. Every export is checked
// against the plain TypeScript reference (src/lvm/reference.ts, src/index/exact.ts) by the tests.
export { alloc, free } from "./memory";
export { linearF32, linearI8, quantizeRows } from "./linear";
export { addInPlace, addRowsCyclic, attention, gelu, gruGates, l2NormalizeRows, layerNorm, lstmGates } from "./nn";
export { searchI8 } from "./search";
