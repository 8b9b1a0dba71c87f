/**
 * Runtime-agnostic binding of the WASM SIMD core (wasm/assembly). The caller obtains a WebAssembly.Module
 * its own way (Node: compile the file; Workers: import the .wasm module; browsers: fetch) and passes it here.
 */
export interface CoreExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  free(ptr: number): void;
  quantizeRows(x: number, rows: number, n: number, q: number, scales: number): void;
  linearI8(xq: number, xs: number, wq: number, ws: number, bias: number, y: number, rows: number, inDim: number, outDim: number): void;
  linearF32(x: number, w: number, bias: number, y: number, rows: number, inDim: number, outDim: number): void;
  gruGates(xp: number, hp: number, h: number, batch: number, hidden: number): void;
  lstmGates(xp: number, hp: number, h: number, c: number, batch: number, hidden: number): void;
  layerNorm(x: number, g: number, b: number, y: number, rows: number, dim: number): void;
  attention(
    q: number,
    k: number,
    v: number,
    out: number,
    batch: number,
    tokens: number,
    width: number,
    heads: number,
    scratch: number,
  ): void;
  gelu(x: number, n: number): void;
  addInPlace(y: number, x: number, n: number): void;
  addRowsCyclic(x: number, pos: number, rows: number, period: number, dim: number): void;
  l2NormalizeRows(x: number, rows: number, dim: number): void;
  /** out[r] = log-sum-exp of row r of x: [rows, n], f32 (the decoder's log-probabilities). */
  logSumExpRows(x: number, rows: number, n: number, out: number): void;
  searchI8(
    vectors: number,
    rowScales: number,
    count: number,
    dim: number,
    query: number,
    queries: number,
    k: number,
    outRows: number,
    outScores: number,
  ): number;
  rowSumsI8(vectors: number, count: number, dim: number, out: number): void;
  selectTopK(scores: number, count: number, k: number, outRows: number, outScores: number): number;
  /** out [rows, k] i32 = the ids of each row's k highest values of x [rows, n] f32, best first (-1 past the finite ones). */
  topKRows(x: number, rows: number, n: number, k: number, out: number): void;
  /** Packed, register-blocked INT8 dense layer (wasm/assembly/packed.ts): i16 activations, packI8 weights. */
  packedI8Bytes(outDim: number, inDim: number): number;
  packI8(wq: number, outDim: number, inDim: number, packed: number): void;
  quantizeRowsI16(x: number, rows: number, n: number, q: number, scales: number): void;
  linearI8Packed(
    xq: number,
    xs: number,
    packed: number,
    ws: number,
    bias: number,
    y: number,
    rows: number,
    inDim: number,
    outDim: number,
  ): void;
  /** core-relaxed.wasm only (wasm/assembly/packed-relaxed.ts): u7 activations, packI8U7 weights (+ wsum64). */
  packedI8U7Bytes?(outDim: number, inDim: number): number;
  packI8U7?(wq: number, outDim: number, inDim: number, packed: number): void;
  linearI8U7Packed?(
    xq: number,
    xs: number,
    packed: number,
    ws: number,
    bias: number,
    y: number,
    rows: number,
    inDim: number,
    outDim: number,
  ): void;
  /** core-relaxed.wasm only (wasm/assembly/relaxed.ts). */
  quantizeRowsU7?(x: number, rows: number, n: number, q: number, scales: number): void;
  linearI8U7?(
    xq: number,
    xs: number,
    wq: number,
    ws: number,
    wsum64: number,
    bias: number,
    y: number,
    rows: number,
    inDim: number,
    outDim: number,
  ): void;
  scoresI8U7?(vectors: number, rowScales: number, rowSums64: number, count: number, dim: number, query: number, scores: number): void;
}

/** A block of core memory. Views are made on demand: growing the memory detaches older views. */
export class CoreBuffer {
  readonly ptr: number;
  readonly bytes: number;
  private readonly core: WasmCore;
  constructor(core: WasmCore, bytes: number) {
    this.core = core;
    this.bytes = bytes;
    // 16-byte alignment for v128 loads: over-allocate and round up.
    this.ptr = core.exports.alloc(bytes + 16);
    if (this.ptr === 0) throw new Error(`wasm core: out of memory allocating ${bytes} bytes`);
  }
  get aligned(): number {
    return (this.ptr + 15) & ~15;
  }
  f32(length = this.bytes / 4): Float32Array {
    return new Float32Array(this.core.exports.memory.buffer, this.aligned, length);
  }
  i8(length = this.bytes): Int8Array {
    return new Int8Array(this.core.exports.memory.buffer, this.aligned, length);
  }
  i32(length = this.bytes / 4): Int32Array {
    return new Int32Array(this.core.exports.memory.buffer, this.aligned, length);
  }
  free(): void {
    this.core.exports.free(this.ptr);
  }
}

export class WasmCore {
  readonly exports: CoreExports;
  /** Whether this instance has the relaxed-SIMD kernels (core-relaxed.wasm). */
  readonly relaxed: boolean;
  constructor(instance: WebAssembly.Instance) {
    this.exports = instance.exports as unknown as CoreExports;
    this.relaxed = typeof this.exports.linearI8U7 === "function";
  }

  static async instantiate(module: WebAssembly.Module): Promise<WasmCore> {
    const instance = await WebAssembly.instantiate(module, {
      env: {
        abort(_message: number, _file: number, line: number, column: number) {
          throw new Error(`wasm core aborted at ${line}:${column}`);
        },
      },
    });
    return new WasmCore(instance);
  }

  buffer(bytes: number): CoreBuffer {
    return new CoreBuffer(this, bytes);
  }

  /**
   * Grows the core's memory once by `bytes` (when that is more than it holds) and frees the block, so that the next
   * allocations, up to `bytes` in all, need no growth. The core's allocator (AssemblyScript's TLSF) grows memory by
   * max(its size, the block asked for) whenever a block does not fit: loading 40 MB in many blocks can double it
   * twice and end near 2x what is live (the Worker's core with USE-lite and the decoder: 84 MiB, where 50.5 MiB
   * holds them after a reserve; `npm run bench -- worker-decode`). Memory never shrinks: reserve only for a load that
   * is likely to follow.
   */
  reserve(bytes: number): void {
    this.buffer(bytes).free();
  }

  /** Copies `data` into a new core buffer. */
  fromF32(data: Float32Array): CoreBuffer {
    const b = this.buffer(data.byteLength);
    b.f32().set(data);
    return b;
  }

  fromI8(data: Int8Array): CoreBuffer {
    const b = this.buffer(data.byteLength);
    b.i8().set(data);
    return b;
  }

  fromI32(data: Int32Array): CoreBuffer {
    const b = this.buffer(data.byteLength);
    b.i32().set(data);
    return b;
  }
}
