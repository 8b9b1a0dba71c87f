// Kernel section: the dense layer alone at the shapes of the 512-D GRU (gates concatenated: 512 -> 1536), the
// core's quantizeRows + linearI8 and linearF32 against onnxruntime's MatMul / DynamicQuantizeMatMul, plus gruGates.
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { INPUT_NAME, OUTPUT_NAME, quantizeColumns } from "../../src/lvm/onnx/export.ts";
import { GraphBuilder } from "../../src/lvm/onnx/graph.ts";
import { DataType } from "../../src/lvm/onnx/proto.ts";
import { createRng } from "../../src/lvm/rng.ts";
import { OrtNodeRunner } from "../../src/lvm/runners/ort-node.ts";
import { createOrtWebRunner } from "../../src/lvm/runners/ort-web-node.ts";
import { medianMs, medianMsAsync } from "../timing.ts";

/**
 * One dense layer y = x @ W + b as an ONNX model, f32 or INT8 as exportOnnx writes it. Input `contexts` [rows, 1, in]
 * and output `next` [rows, 1, out], so an LvmRunner with context 1 runs it.
 */
function denseOnnx(inDim: number, outDim: number, int8: boolean): Uint8Array {
  const g = new GraphBuilder();
  const rng = createRng(3);
  const w = new Float32Array(inDim * outDim).map(() => rng.normal() * 0.05);
  const b = new Float32Array(outDim);
  let y: string;
  if (int8) {
    const { q, scales } = quantizeColumns(w, inDim, outDim);
    const [xq, sx, zx] = g.opN("DynamicQuantizeLinear", [INPUT_NAME], 3);
    const acc = g.op("Cast", [g.op("MatMulInteger", [xq, g.i8("wq", q, [inDim, outDim]), zx])], { to: DataType.FLOAT });
    y = g.op("Mul", [acc, g.op("Mul", [sx, g.f32("ws", scales)])]);
  } else {
    y = g.op("MatMul", [INPUT_NAME, g.f32("w", w, [inDim, outDim])]);
  }
  g.op("Add", [y, g.f32("b", b)], {}, OUTPUT_NAME);
  return g.encode({
    name: "dense",
    inputs: [{ name: INPUT_NAME, elemType: DataType.FLOAT, shape: ["rows", 1, inDim] }],
    outputs: [{ name: OUTPUT_NAME, elemType: DataType.FLOAT, shape: ["rows", 1, outDim] }],
  });
}

export async function benchKernels(core: WasmCore) {
  const e = core.exports;
  const shapes = [
    { name: "GRU input projection, batch 32 (160 rows)", rows: 160, inDim: 512, outDim: 1536 },
    { name: "GRU recurrent projection, batch 32", rows: 32, inDim: 512, outDim: 1536 },
    { name: "GRU recurrent projection, batch 1", rows: 1, inDim: 512, outDim: 1536 },
  ];
  const rng = createRng(4);
  const results = [];
  for (const s of shapes) {
    const { rows, inDim, outDim } = s;
    const x = core.buffer(rows * inDim * 4);
    x.f32().set(new Float32Array(rows * inDim).map(() => rng.normal()));
    const xq = core.buffer(rows * inDim);
    const xs = core.buffer(rows * 4);
    const wq = core.buffer(outDim * inDim);
    wq.i8().set(new Int8Array(outDim * inDim).map(() => rng.int(255) - 127));
    const ws = core.buffer(outDim * 4);
    ws.f32().fill(0.01);
    const wf = core.buffer(outDim * inDim * 4);
    wf.f32().set(new Float32Array(outDim * inDim).map(() => rng.normal() * 0.05));
    const bias = core.buffer(outDim * 4);
    const y = core.buffer(rows * outDim * 4);
    const reps = rows === 1 ? 400 : 60;
    const quantize = medianMs(() => e.quantizeRows(x.aligned, rows, inDim, xq.aligned, xs.aligned), reps);
    const i8 = medianMs(
      () => e.linearI8(xq.aligned, xs.aligned, wq.aligned, ws.aligned, bias.aligned, y.aligned, rows, inDim, outDim),
      reps,
    );
    const f32 = medianMs(() => e.linearF32(x.aligned, wf.aligned, bias.aligned, y.aligned, rows, inDim, outDim), reps);
    const xIn = new Float32Array(x.f32());
    const ort: Record<string, number> = {};
    for (const [id, make] of [
      ["ort-node f32", (b: Uint8Array) => OrtNodeRunner.create(b, { context: 1, dim: inDim }, { intraOpNumThreads: 1 })],
      ["ort-wasm f32", (b: Uint8Array) => createOrtWebRunner(b, { context: 1, dim: inDim })],
      ["ort-node int8", (b: Uint8Array) => OrtNodeRunner.create(b, { context: 1, dim: inDim }, { intraOpNumThreads: 1 })],
      ["ort-wasm int8", (b: Uint8Array) => createOrtWebRunner(b, { context: 1, dim: inDim })],
    ] as const) {
      const runner = await make(denseOnnx(inDim, outDim, id.endsWith("int8")));
      for (let i = 0; i < 3; i++) await runner.forward(xIn, rows);
      ort[id] = await medianMsAsync(() => runner.forward(xIn, rows), reps);
      runner.dispose();
    }
    const macs = rows * inDim * outDim;
    const gmacs = (ms: number) => macs / ms / 1e6;
    results.push({
      shape: s.name,
      rows,
      inDim,
      outDim,
      ms: { "core quantizeRows": quantize, "core linearI8": i8, "core quantize+linearI8": quantize + i8, "core linearF32": f32, ...ort },
      gmacPerSecond: {
        "core quantize+linearI8": gmacs(quantize + i8),
        "core linearF32": gmacs(f32),
        ...Object.fromEntries(Object.entries(ort).map(([k, v]) => [k, gmacs(v)])),
      },
    });
    for (const b of [x, xq, xs, wq, ws, wf, bias, y]) b.free();
  }
  // GRU gate nonlinearities for batch 32, hidden 512.
  const xp = core.buffer(32 * 1536 * 4);
  const hp = core.buffer(32 * 1536 * 4);
  const h = core.buffer(32 * 512 * 4);
  const gates = medianMs(() => e.gruGates(xp.aligned, hp.aligned, h.aligned, 32, 512), 200);
  for (const b of [xp, hp, h]) b.free();
  return { dense: results, gruGatesBatch32Ms: gates };
}

/** Prints the kernel table: ms per call (GMAC/s). */
export function printKernels(kernels: Awaited<ReturnType<typeof benchKernels>>): void {
  console.log("\n## Dense-layer kernel alone, 512 -> 1536 (GRU gates): ms per call (GMAC/s)");
  const kernelIds = Object.keys(kernels.dense[0].ms);
  console.log(`| shape | ${kernelIds.join(" | ")} |\n|---|${kernelIds.map(() => "---").join("|")}|`);
  for (const k of kernels.dense) {
    const cells = kernelIds.map((id) => {
      const ms = (k.ms as Record<string, number>)[id];
      const g = (k.gmacPerSecond as Record<string, number>)[id];
      return g === undefined ? ms.toFixed(3) : `${ms.toFixed(3)} (${g.toFixed(1)})`;
    });
    console.log(`| ${k.shape} | ${cells.join(" | ")} |`);
  }
  console.log(`core gruGates, batch 32 x 512: ${kernels.gruGatesBatch32Ms.toFixed(3)} ms`);
}
