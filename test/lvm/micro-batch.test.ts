// Micro-batching (src/lvm/runners/micro-batch.ts): concurrent calls share one model call and get exactly what
// one-at-a-time calls give (the core and the per-row INT8 graph on onnxruntime-node, real runners); a failing
// batch rejects every caller; window 0 and a full queue flush at once; bad input is rejected alone.
import { describe, expect, it } from "vitest";
import { randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { MicroBatcher, parseWindowMs } from "../../src/lvm/runners/micro-batch.ts";
import { createRunnerForModel } from "../../src/lvm/runners/select-node.ts";
import { DIM, gpuTestModel } from "./gpu-models.ts";

const CONTEXT = 5;
const ROW = CONTEXT * DIM;

/** A forward that records its batch sizes and returns, per row, the row's first value repeated (row-independent). */
function recording(): { calls: number[]; forward: (c: Float32Array, b: number) => Promise<Float32Array> } {
  const calls: number[] = [];
  return {
    calls,
    forward: async (c, b) => {
      calls.push(b);
      const out = new Float32Array(b * DIM);
      for (let i = 0; i < b; i++) out.fill(c[i * ROW], i * DIM, (i + 1) * DIM);
      return out;
    },
  };
}

const rows = (batch: number, first: number) => {
  const c = new Float32Array(batch * ROW);
  for (let i = 0; i < batch; i++) c[i * ROW] = first + i;
  return c;
};

describe("MicroBatcher", () => {
  for (const engine of ["core-int8", "core-f32", "ort-node-int8-row", "ort-node"] as const) {
    it(`${engine}: concurrent calls through the batcher equal one-at-a-time calls, bit for bit`, async () => {
      const m = gpuTestModel("gru");
      const backend = (
        { "core-int8": "core", "core-f32": "core-f32", "ort-node-int8-row": "ort-node-int8", "ort-node": "ort-node" } as const
      )[engine];
      const runner = await createRunnerForModel(m, backend);
      expect(runner.id).toBe(engine);
      try {
        const batcher = new MicroBatcher((c, b) => runner.forward(c, b), { windowMs: 50, maxBatch: 64, rowValues: ROW });
        // 12 callers, batches of 1..3 rows, one of them far from unit norm.
        const inputs = Array.from({ length: 12 }, (_, i) => randomContexts(1 + (i % 3), CONTEXT, DIM, 100 + i));
        for (let j = 0; j < ROW; j++) inputs[5][j] *= 30;
        const together = await Promise.all(inputs.map((c) => batcher.forward(c, c.length / ROW)));
        expect(batcher.stats).toEqual({ calls: 12, modelCalls: 1, largestBatch: 24 });
        for (const [i, c] of inputs.entries()) {
          const alone = await runner.forward(c, c.length / ROW);
          expect(Array.from(together[i])).toEqual(Array.from(alone));
        }
      } finally {
        runner.dispose();
      }
    });
  }

  it("hands each caller its own rows, in arrival order, and keeps each model call within maxBatch", async () => {
    const { calls, forward } = recording();
    const batcher = new MicroBatcher(forward, { windowMs: 20, maxBatch: 4, rowValues: ROW });
    const out = await Promise.all([batcher.forward(rows(2, 10), 2), batcher.forward(rows(1, 20), 1), batcher.forward(rows(3, 30), 3)]);
    expect(calls).toEqual([3, 3]); // 2 + 1 rows, then the 3 that would have made 6
    expect(out.map((o) => Array.from(o.filter((_, j) => j % DIM === 0)))).toEqual([[10, 11], [20], [30, 31, 32]]);
    const big = await batcher.forward(rows(5, 50), 5); // more than maxBatch: alone
    expect(big.length).toBe(5 * DIM);
    expect(calls).toEqual([3, 3, 5]);
  });

  it("a failing model call rejects every caller of that batch with its error, sync throw or rejection", async () => {
    for (const fail of [
      () => {
        throw new Error("device lost");
      },
      async () => {
        throw new Error("device lost");
      },
    ]) {
      const batcher = new MicroBatcher(fail, { windowMs: 5, maxBatch: 8, rowValues: ROW });
      const results = await Promise.allSettled([batcher.forward(rows(1, 0), 1), batcher.forward(rows(2, 0), 2)]);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
      for (const r of results) expect((r as PromiseRejectedResult).reason.message).toBe("device lost");
      expect(batcher.stats.modelCalls).toBe(1);
    }
    // A model that returns the wrong size: every caller is told, none gets a wrong slice.
    const short = new MicroBatcher(async () => new Float32Array(7), { windowMs: 5, maxBatch: 8, rowValues: ROW });
    const settled = await Promise.allSettled([short.forward(rows(1, 0), 1), short.forward(rows(1, 0), 1)]);
    for (const r of settled) expect((r as PromiseRejectedResult).reason.message).toMatch(/returned 7 values for 2 rows/);
  });

  it("window 0 calls the model at once, per call; a full queue flushes without waiting for the window", async () => {
    const { calls, forward } = recording();
    const direct = new MicroBatcher(forward, { windowMs: 0, maxBatch: 64, rowValues: ROW });
    const pending = [direct.forward(rows(1, 1), 1), direct.forward(rows(1, 2), 1)];
    expect(calls).toEqual([1, 1]); // synchronously, before any timer or microtask
    await Promise.all(pending);
    const long = new MicroBatcher(forward, { windowMs: 60_000, maxBatch: 3, rowValues: ROW });
    const started = performance.now();
    await Promise.all([long.forward(rows(1, 1), 1), long.forward(rows(2, 2), 2)]);
    expect(performance.now() - started).toBeLessThan(30_000); // flushed by size, not by the minute-long window
    expect(calls).toEqual([1, 1, 3]);
  });

  it("rejects bad input alone, without touching the batch", async () => {
    const { calls, forward } = recording();
    const batcher = new MicroBatcher(forward, { windowMs: 5, maxBatch: 8, rowValues: ROW });
    const good = batcher.forward(rows(1, 7), 1);
    await expect(batcher.forward(new Float32Array(ROW + 1), 1)).rejects.toThrow(/hold 321 values, expected 1 rows of 320/);
    await expect(batcher.forward(rows(1, 0), 0)).rejects.toThrow(/batch must be a positive integer, got 0/);
    expect((await good)[0]).toBe(7);
    expect(calls).toEqual([1]);
    expect(() => new MicroBatcher(forward, { windowMs: -1, maxBatch: 8, rowValues: ROW })).toThrow(/window must be >= 0/);
    expect(() => new MicroBatcher(forward, { windowMs: 1, maxBatch: 0, rowValues: ROW })).toThrow(/max batch must be a positive/);
    expect(parseWindowMs("2")).toBe(2);
    expect(() => parseWindowMs("fast", "--batch-window-ms")).toThrow(
      /--batch-window-ms must be a number of milliseconds from 0 to 1000, got 'fast'/,
    );
  });
});
