// `auto` on Node: the startup probe keeps the fastest engine that opens; where onnxruntime-node cannot be loaded
// (an injected import that throws, and a child process where the package cannot be resolved) the core answers.
// The served INT8 graph (ort-node-int8, per-row activations) gives each row independently of its batch mates.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareRows, randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { forward } from "../../src/lvm/reference.ts";
import { probeContexts, probeFastest } from "../../src/lvm/runners/fastest.ts";
import { createRunnerForModel, openRunnerForModel } from "../../src/lvm/runners/select-node.ts";
import type { LvmRunner } from "../../src/lvm/runners/types.ts";
import { REPO } from "../helpers.ts";
import { DIM, gpuTestModel } from "./gpu-models.ts";

const noGpu = () => ({ real: false, reason: "test: no GPU" });
const missing = async (): Promise<never> => {
  throw new Error("Cannot find package 'onnxruntime-node' imported from select-node.ts");
};

function fakeRunner(id: string, log: string[] = []): LvmRunner {
  return {
    id,
    forward: async (_c, batch) => new Float32Array(batch * DIM),
    dispose: () => log.push(`dispose ${id}`),
  };
}

describe("auto: the fastest engine that loads", () => {
  const m = gpuTestModel("gru-edge");

  it("keeps the faster engine by the probe's timing, at the probe batch, and says why", async () => {
    for (const [fast, slow] of [
      ["core-int8", "ort-node-int8-row"],
      ["ort-node-int8-row", "core-int8"],
    ]) {
      const ms: Record<string, Record<number, number>> = { [fast]: { 32: 2, 1: 0.5 }, [slow]: { 32: 6, 1: 0.25 } };
      const opened = await openRunnerForModel(m, "auto", { detect: noGpu, probe: { time: (r, b) => ms[r.id][b] } });
      expect(opened.runner.id).toBe(fast);
      expect(opened.warning).toBeUndefined();
      expect(opened.detail).toBe(`auto: ${fast}: 3.0x ${slow} at batch 32, 0.5x at batch 1 (startup probe); no real GPU (test: no GPU)`);
      opened.runner.dispose();
    }
    // Without micro-batching the probe decides at batch 1.
    const ms: Record<string, number> = { "core-int8": 1, "ort-node-int8-row": 2 };
    const one = await openRunnerForModel(m, "auto", { detect: noGpu, probe: { batch: 1, time: (r) => ms[r.id] } });
    expect(one.runner.id).toBe("core-int8");
    expect(one.detail).toBe("auto: core-int8: 2.0x ort-node-int8-row at batch 1 (startup probe); no real GPU (test: no GPU)");
    one.runner.dispose();
  });

  it("compares f32 with f32: ort-node's f32 graph against core-f32", async () => {
    const opened = await openRunnerForModel(m, "auto", { detect: noGpu, fallback: "core-f32", probe: { budgetMs: 5 } });
    expect(["ort-node", "core-f32"]).toContain(opened.runner.id);
    expect(opened.detail).toMatch(/^auto: (ort-node|core-f32): [\d.]+x (core-f32|ort-node) at batch 32/);
    opened.runner.dispose();
  });

  it("runs on the core when onnxruntime-node cannot be imported: auto without a warning, a forced ort-node-int8 with one", async () => {
    const auto = await openRunnerForModel(m, "auto", { detect: noGpu, loadOrtNode: missing });
    expect(auto.runner.id).toBe("core-int8");
    expect(auto.warning).toBeUndefined();
    expect(auto.detail).toBe(
      "auto: core-int8: the only engine that opened; ort-node-int8 could not be opened (Cannot find package 'onnxruntime-node' imported from select-node.ts); no real GPU (test: no GPU)",
    );
    const contexts = randomContexts(2, m.config.context, DIM, 3);
    expect(compareRows(await auto.runner.forward(contexts, 2), forward(m, contexts, 2), DIM).minCosine).toBeGreaterThan(0.99);
    auto.runner.dispose();
    const forced = await openRunnerForModel(m, "ort-node-int8", { loadOrtNode: missing });
    expect(forced.runner.id).toBe("core-int8");
    expect(forced.warning).toBe("ort-node-int8: Cannot find package 'onnxruntime-node' imported from select-node.ts; running on core-int8");
    forced.runner.dispose();
  });

  it("runs on the core in a process where the onnxruntime-node package cannot be resolved", () => {
    const child = spawnSync(process.execPath, [join(REPO, "test/lvm/no-ort-child.ts")], { encoding: "utf8", timeout: 60_000 });
    const line = child.stdout.split("\n").find((l) => l.startsWith("NO-ORT "));
    expect(line, `child exited ${child.status}: ${child.stderr.slice(-2000)}`).toBeDefined();
    const result = JSON.parse((line as string).slice("NO-ORT ".length));
    expect(result).toMatchObject({ auto: "core-int8", forced: "core-int8", rows: DIM });
    expect(result.detail).toMatch(/ort-node-int8 could not be opened \(Cannot find package 'onnxruntime-node'/);
    expect(result.warning).toMatch(/^ort-node-int8: Cannot find package 'onnxruntime-node'.*; running on core-int8$/);
  });

  it("the probe skips what fails to open, disposes what it does not keep, and fails only when nothing opens", async () => {
    const log: string[] = [];
    const shape = { context: 5, dim: DIM };
    const times: Record<string, number> = { a: 3, b: 1 };
    const probed = await probeFastest(
      [
        { name: "a", open: async () => fakeRunner("a", log) },
        { name: "broken", open: missing },
        { name: "b", open: async () => fakeRunner("b", log) },
      ],
      shape,
      { time: (r) => times[r.id] },
    );
    expect(probed.runner.id).toBe("b");
    expect(log).toEqual(["dispose a"]);
    expect(probed.reason).toBe(
      "b: 3.0x a at batch 32, 3.0x at batch 1 (startup probe); broken could not be opened (Cannot find package 'onnxruntime-node' imported from select-node.ts)",
    );
    expect(probed.failed).toEqual({ broken: "Cannot find package 'onnxruntime-node' imported from select-node.ts" });
    await expect(probeFastest([{ name: "broken", open: missing }], shape)).rejects.toThrow(/no engine could be opened: broken could not/);
    // Real timing: every candidate is called on the same unit rows.
    const seen: Float32Array[] = [];
    const spy: LvmRunner = {
      ...fakeRunner("spy"),
      forward: async (c, b) => {
        seen.push(c);
        return new Float32Array(b * DIM);
      },
    };
    await probeFastest(
      [
        { name: "spy", open: async () => spy },
        { name: "a", open: async () => fakeRunner("a") },
      ],
      shape,
      { budgetMs: 1 },
    );
    expect(seen.length).toBeGreaterThanOrEqual(8); // warm-up + 3 calls, at batch 32 and 1
    expect(seen[0]).toEqual(probeContexts(32, shape));
  });
});

describe("ort-node-int8: the per-row INT8 graph the server runs", () => {
  for (const preset of ["gru", "lstm", "transformer", "gru-edge"] as const) {
    it(`${preset}: each row is what a batch of one gives, bit for bit, and near the reference`, async () => {
      const m = gpuTestModel(preset);
      const runner = await createRunnerForModel(m, "ort-node-int8");
      try {
        expect(runner.id).toBe("ort-node-int8-row");
        const batch = 9;
        const contexts = randomContexts(batch, m.config.context, DIM, 11);
        // One large-magnitude row: a per-call activation scale (DynamicQuantizeLinear) would change its mates' results.
        for (let j = 0; j < m.config.context * DIM; j++) contexts[4 * m.config.context * DIM + j] *= 40;
        const all = await runner.forward(contexts, batch);
        const size = m.config.context * DIM;
        for (let i = 0; i < batch; i++) {
          const one = await runner.forward(contexts.slice(i * size, (i + 1) * size), 1);
          expect(Array.from(one)).toEqual(Array.from(all.subarray(i * DIM, (i + 1) * DIM)));
        }
        const normal = [0, 1, 2, 3, 5, 6, 7, 8];
        const expected = forward(m, contexts, batch);
        for (const i of normal) {
          const c = compareRows(all.subarray(i * DIM, (i + 1) * DIM), expected.subarray(i * DIM, (i + 1) * DIM), DIM);
          expect(c.minCosine).toBeGreaterThanOrEqual(0.99);
        }
      } finally {
        runner.dispose();
      }
    });
  }
});
