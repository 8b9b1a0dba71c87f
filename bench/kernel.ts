/**
 * The core's INT8 dense kernel alone, 512 -> 1536 (the 512-D GRU's gates), at 160 rows (batch 32 x context 5),
 * 32 rows (batch 32's recurrent step), 5 rows (batch 1 x context 5) and 1 row, wall-clock, one thread:
 *
 * - before: the row-layout kernels linearI8 (plain SIMD) and linearI8U7 (relaxed SIMD), still exported;
 * - after: the packed, register-blocked kernels linearI8Packed (plain) and linearI8U7Packed (relaxed);
 * - onnxruntime-web INT8 (wasm, 1 thread) on the same layer (DynamicQuantizeLinear + MatMulInteger, as
 *   exportOnnx writes it).
 * Every figure includes the activations' quantisation. Kernels are called round-robin (one call each per
 * round of back-to-back calls) so load from other processes on the shared cores hits them alike; the figure
 * is the median over rounds of each kernel's mean call, wall-clock, beside this thread's CPU time per call.
 *
 * The limit printed beside them is measured, not assumed: a register-only loop of independent relaxed dots
 * (16 int8 MACs each) and of i32x4.dot_i16x8_s + i32x4.add (8 MACs per dot), compiled from AssemblyScript at
 * bench time, gives the dot instructions per second this engine reaches on this CPU, i.e. the MAC rate no
 * 128-bit kernel can beat (loads, quantisation and stores come on top).
 *
 * `node bench/kernel.ts` alone, or `npm run bench -- kernel`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import type { CoreBuffer, WasmCore } from "../src/core/wasm-core.ts";
import { loadCore } from "../src/core/wasm-core-node.ts";
import { INPUT_NAME, OUTPUT_NAME, quantizeColumns } from "../src/lvm/onnx/export.ts";
import { GraphBuilder } from "../src/lvm/onnx/graph.ts";
import { DataType } from "../src/lvm/onnx/proto.ts";
import { createRng } from "../src/lvm/rng.ts";
import { createOrtWebRunner } from "../src/lvm/runners/ort-web-node.ts";
import { RESULTS } from "./paths.ts";

const IN = 512;
const OUT = 1536;
const ROWS = [160, 32, 5, 1];
const ROUNDS = Number(process.env.KERNEL_BENCH_ROUNDS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One dense layer as onnxruntime sees our INT8 export: input [rows, 1, in] -> output [rows, 1, out]. */
function denseInt8Onnx(w: Float32Array): Uint8Array {
  const g = new GraphBuilder();
  const { q, scales } = quantizeColumns(w, IN, OUT);
  const [xq, sx, zx] = g.opN("DynamicQuantizeLinear", [INPUT_NAME], 3);
  const acc = g.op("Cast", [g.op("MatMulInteger", [xq, g.i8("wq", q, [IN, OUT]), zx])], { to: DataType.FLOAT });
  const y = g.op("Mul", [acc, g.op("Mul", [sx, g.f32("ws", scales)])]);
  g.op("Add", [y, g.f32("b", new Float32Array(OUT))], {}, OUTPUT_NAME);
  return g.encode({
    name: "dense",
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, shape: ["rows", 1, IN] }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, shape: ["rows", 1, OUT] }],
  });
}

/** Register-only dot loops: returns dot instructions per second for the relaxed and the plain dot. */
async function peakDots(): Promise<{ relaxedDotsPerS: number; plainDotsPerS: number; clockHz: number }> {
  // 12 independent accumulators (enough to cover the dot's latency), no memory traffic in the loop. The plain
  // loop feeds each accumulator back into its dot so the compiler cannot hoist it. clock() is one chain of
  // dependent i32.mul + i32.xor (imul r32 3 cycles + xor 1 on x86 cores of this decade): 4 cycles a step.
  // Rates are per second of this thread's CPU time, so time-slicing by other processes does not lower them.
  const accs = Array.from({ length: 12 }, (_, i) => i);
  const xorAll = accs.map((i) => `c${i}`).reduce((a, c) => `v128.xor(${a}, ${c})`);
  const src = `
export function relaxed(n: i32, seed: i32): i32 {
  const a = i8x16.splat(<i8>seed), b = i8x16.splat(<i8>(seed + 1));
  ${accs.map((i) => `let c${i} = i32x4.splat(${i});`).join(" ")}
  for (let i = 0; i < n; i++) {
    ${accs.map((i) => `c${i} = i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c${i});`).join(" ")}
  }
  return i32x4.extract_lane(${xorAll}, 0);
}
export function plain(n: i32, seed: i32): i32 {
  const b = i16x8.splat(<i16>(seed + 1));
  ${accs.map((i) => `let c${i} = i32x4.splat(${i});`).join(" ")}
  for (let i = 0; i < n; i++) {
    ${accs.map((i) => `c${i} = i32x4.add(c${i}, i32x4.dot_i16x8_s(c${i}, b));`).join(" ")}
  }
  return i32x4.extract_lane(${xorAll}, 0);
}
export function clock(n: i32, seed: i32): i32 {
  let c = 1;
  for (let i = 0; i < n; i++) {
    ${accs.map(() => "c = (c * seed) ^ i;").join(" ")}
  }
  return c;
}`;
  const { error, binary, stderr } = await asc.compileString(src, {
    optimizeLevel: 3,
    runtime: "stub",
    noAssert: true,
    enable: ["simd", "relaxed-simd"],
  });
  if (error || !binary) throw new Error(`peak loop did not compile: ${error?.message}\n${stderr.toString()}`);
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(binary as Uint8Array<ArrayBuffer>), { env: { abort() {} } });
  type Loop = (n: number, seed: number) => number;
  const fns = instance.exports as { relaxed: Loop; plain: Loop; clock: Loop };
  const rate = (f: Loop, opsPerIteration: number) => {
    // Enough calls for V8 to tier the function up from Liftoff to TurboFan (no on-stack replacement).
    for (let i = 0; i < 200; i++) f(1e4, 3);
    const n = 2e7; // 30-200 ms a run: long enough for the thread CPU clock
    const runs = Array.from({ length: 7 }, () => {
      const c0 = process.threadCpuUsage();
      f(n, 3);
      const c = process.threadCpuUsage(c0);
      return (c.user + c.system) / 1e6;
    });
    return (n * opsPerIteration) / median(runs);
  };
  return {
    relaxedDotsPerS: rate(fns.relaxed, accs.length),
    plainDotsPerS: rate(fns.plain, accs.length),
    clockHz: rate(fns.clock, accs.length) * 4,
  };
}

interface Kernel {
  id: string;
  call(): unknown;
}

export async function benchKernel(): Promise<Record<string, unknown>> {
  const relaxed = await loadCore("relaxed");
  const plain = await loadCore("simd");
  const rng = createRng(4);
  const w = new Float32Array(OUT * IN).map(() => rng.normal() * 0.05);
  // [out, in] INT8 rows with one scale per output, as CoreLvm packs them.
  const wq = new Int8Array(OUT * IN);
  const ws = new Float32Array(OUT);
  for (let o = 0; o < OUT; o++) {
    let m = 0;
    for (let i = 0; i < IN; i++) m = Math.max(m, Math.abs(w[o * IN + i]));
    ws[o] = m / 127;
    for (let i = 0; i < IN; i++) wq[o * IN + i] = Math.round(w[o * IN + i] / ws[o]);
  }
  const maxRows = Math.max(...ROWS);
  const x = new Float32Array(maxRows * IN).map(() => rng.normal());
  const ort = await createOrtWebRunner(denseInt8Onnx(w), { context: 1, dim: IN });

  const setup = (core: WasmCore) => {
    const b = {
      x: core.fromF32(x),
      xq: core.buffer(maxRows * IN * 2),
      xs: core.buffer(maxRows * 4),
      wq: core.fromI8(wq),
      ws: core.fromF32(ws),
      bias: core.buffer(OUT * 4),
      y: core.buffer(maxRows * OUT * 4),
      packed: null as CoreBuffer | null,
    };
    return b;
  };
  const r = setup(relaxed);
  const p = setup(plain);
  const re = relaxed.exports;
  const pe = plain.exports;
  r.packed = relaxed.buffer(re.packedI8U7Bytes!(OUT, IN));
  re.packI8U7!(r.wq.aligned, OUT, IN, r.packed.aligned);
  p.packed = plain.buffer(pe.packedI8Bytes(OUT, IN));
  pe.packI8(p.wq.aligned, OUT, IN, p.packed.aligned);

  const peak = await peakDots();
  const peakRelaxedGmacs = (peak.relaxedDotsPerS * 16) / 1e9;
  const peakPlainGmacs = (peak.plainDotsPerS * 8) / 1e9;

  const results = [];
  for (const rows of ROWS) {
    const kernels: Kernel[] = [
      {
        id: "before: plain linearI8",
        call: () => {
          pe.quantizeRows(p.x.aligned, rows, IN, p.xq.aligned, p.xs.aligned);
          pe.linearI8(p.xq.aligned, p.xs.aligned, p.wq.aligned, p.ws.aligned, p.bias.aligned, p.y.aligned, rows, IN, OUT);
        },
      },
      {
        id: "before: relaxed linearI8U7",
        call: () => {
          re.quantizeRowsU7!(r.x.aligned, rows, IN, r.xq.aligned, r.xs.aligned);
          // wsum64 of the old kernel: the packed buffer's tail (OUT is a multiple of 8, so no padding).
          re.linearI8U7!(
            r.xq.aligned,
            r.xs.aligned,
            r.wq.aligned,
            r.ws.aligned,
            r.packed!.aligned + OUT * IN,
            r.bias.aligned,
            r.y.aligned,
            rows,
            IN,
            OUT,
          );
        },
      },
      {
        id: "after: plain linearI8Packed",
        call: () => {
          pe.quantizeRowsI16(p.x.aligned, rows, IN, p.xq.aligned, p.xs.aligned);
          pe.linearI8Packed(p.xq.aligned, p.xs.aligned, p.packed!.aligned, p.ws.aligned, p.bias.aligned, p.y.aligned, rows, IN, OUT);
        },
      },
      {
        id: "after: relaxed linearI8U7Packed",
        call: () => {
          re.quantizeRowsU7!(r.x.aligned, rows, IN, r.xq.aligned, r.xs.aligned);
          re.linearI8U7Packed!(r.xq.aligned, r.xs.aligned, r.packed!.aligned, r.ws.aligned, r.bias.aligned, r.y.aligned, rows, IN, OUT);
        },
      },
    ];
    const xIn = x.subarray(0, rows * IN);
    const ortId = "onnxruntime-web int8";
    for (let i = 0; i < 3; i++) {
      for (const k of kernels) k.call();
      await ort.forward(xIn, rows);
    }
    // ~2 GMAC a round per kernel (15 calls at 160 rows, 2,500 at 1 row): tens of ms, which the thread CPU clock resolves.
    const calls = Math.max(10, Math.round(2e9 / (rows * IN * OUT)));
    const all = [...kernels, { id: ortId, call: () => ort.forward(xIn, rows) }];
    const wall = new Map(all.map((k) => [k.id, [] as number[]]));
    const cpu = new Map(all.map((k) => [k.id, [] as number[]]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const k of all) {
        const c0 = process.threadCpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await k.call();
        const c = process.threadCpuUsage(c0);
        wall.get(k.id)!.push((performance.now() - t0) / calls);
        cpu.get(k.id)!.push((c.user + c.system) / 1000 / calls);
      }
    }
    const macs = rows * IN * OUT;
    const ms = Object.fromEntries(all.map((k) => [k.id, median(wall.get(k.id)!)]));
    // The thread CPU clock advances in scheduler ticks: the mean over all rounds is unbiased, a median is not.
    const cpuMs = Object.fromEntries(all.map((k) => [k.id, cpu.get(k.id)!.reduce((x, y) => x + y, 0) / ROUNDS]));
    const gmacs = Object.fromEntries(Object.entries(ms).map(([id, t]) => [id, macs / t / 1e6]));
    const gmacsCpu = Object.fromEntries(Object.entries(cpuMs).map(([id, t]) => [id, macs / t / 1e6]));
    results.push({ rows, ms, cpuMs, gmacPerSecond: gmacs, gmacPerCpuSecond: gmacsCpu });
  }
  ort.dispose();
  for (const b of [r, p]) for (const buf of Object.values(b)) buf?.free();

  console.log(
    `\n## INT8 dense kernel ${IN} -> ${OUT}, 1 thread: GMAC/s, wall-clock (per thread CPU second), median of ${ROUNDS} interleaved rounds`,
  );
  const ids = Object.keys(results[0].gmacPerSecond);
  const after = "after: relaxed linearI8U7Packed";
  console.log(
    `| rows | ${ids.join(" | ")} | relaxed after/before | relaxed after / ort-web |\n|---|${ids.map(() => "---").join("|")}|---|---|`,
  );
  for (const res of results) {
    const g = res.gmacPerSecond;
    const gc = res.gmacPerCpuSecond;
    const ratio = (a: string, b: string) => `${(g[a] / g[b]).toFixed(2)}x (${(gc[a] / gc[b]).toFixed(2)}x)`;
    console.log(
      `| ${res.rows} | ${ids.map((id) => `${g[id].toFixed(1)} (${gc[id].toFixed(1)})`).join(" | ")} | ${ratio(after, "before: relaxed linearI8U7")} | ${ratio(after, "onnxruntime-web int8")} |`,
    );
  }
  const perCycle = (dots: number) => (dots / peak.clockHz).toFixed(2);
  console.log(
    `limit on this CPU (register-only loops, no loads; per second of thread CPU time; clock ~${(peak.clockHz / 1e9).toFixed(2)} GHz from a dependent imul+xor chain): relaxed dot ${(peak.relaxedDotsPerS / 1e9).toFixed(2)} G/s (${perCycle(peak.relaxedDotsPerS)}/cycle) x 16 MACs = ${peakRelaxedGmacs.toFixed(0)} GMAC/s; i32x4.dot_i16x8_s + add ${(peak.plainDotsPerS / 1e9).toFixed(2)} G/s (${perCycle(peak.plainDotsPerS)}/cycle) x 8 MACs = ${peakPlainGmacs.toFixed(0)} GMAC/s`,
  );
  return {
    shape: { inDim: IN, outDim: OUT },
    timing: `per row count: ${ROUNDS} rounds; in each, every kernel in turn makes ~2 GMAC of calls back to back; ms = median over rounds of the mean call, wall-clock; cpuMs = this thread's CPU time per call over all rounds; includes activation quantisation`,
    results,
    limit: { ...peak, relaxedGmacPerSecond: peakRelaxedGmacs, plainGmacPerSecond: peakPlainGmacs },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchKernel();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, "kernel.json"),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, kernel: result }, null, 2)}\n`,
  );
}
