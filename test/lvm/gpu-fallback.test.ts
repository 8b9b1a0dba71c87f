// GPU backends' faults, without a GPU: an injected onnxruntime session that fails to be created, fails its first
// run or fails later; detection of real vs software Vulkan drivers; a child process pointed at a bogus driver.
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareRows, randomContexts } from "../../src/lvm/onnx/validate-node.ts";
import { forward } from "../../src/lvm/reference.ts";
import { detectGpu, swiftShaderEnv } from "../../src/lvm/runners/gpu-detect-node.ts";
import type { GpuSession, GpuSessionFactory } from "../../src/lvm/runners/ort-node-gpu.ts";
import { openRunnerForModel, parseBackend } from "../../src/lvm/runners/select-node.ts";
import { REPO, tempDir } from "../helpers.ts";
import { DIM, gpuTestModel } from "./gpu-models.ts";

/** A session that answers like onnxruntime until its `failAt`-th run (1 = the probe run), then throws. */
function fakeSession(failAt: number, output: (batch: number) => Float32Array): GpuSessionFactory {
  return async () => {
    let runs = 0;
    const session: GpuSession = {
      async run(feeds) {
        runs++;
        if (runs >= failAt) throw new Error("/src/webgpu_context.cc:12 Fn check was false. Device lost\nstack");
        const batch = (feeds.contexts.dims as number[])[0];
        return { next: { data: output(batch) } };
      },
      release: async () => {},
    };
    return session;
  };
}

describe("GPU backends fall back to the core", () => {
  const m = gpuTestModel("gru-edge");
  const contexts = randomContexts(2, m.config.context, DIM, 1);
  const expected = forward(m, contexts, 2);
  const unit = (batch: number) => new Float32Array(batch * DIM).fill(1 / Math.sqrt(DIM));

  it("when no session can be created: the core answers, with one warning", async () => {
    const createSession: GpuSessionFactory = async () => {
      throw new Error("webgpu_context.cc:136 Init <lambda()> status == Success was false. Failed to get a WebGPU adapter");
    };
    const { runner, warning } = await openRunnerForModel(m, "ort-node-webgpu", { createSession });
    expect(runner.id).toBe("core-int8");
    expect(warning).toBe("ort-node-webgpu: no webgpu session: Failed to get a WebGPU adapter; running on core-int8");
    expect(compareRows(await runner.forward(contexts, 2), expected, DIM).minCosine).toBeGreaterThan(0.995);
    runner.dispose();
  });

  it("when the first (probe) run fails, e.g. an f16 graph on a device without shader-f16", async () => {
    const { runner, warning } = await openRunnerForModel(m, "ort-node-webgpu-f16", {
      createSession: fakeSession(1, unit),
      fallback: "core-f32",
    });
    expect(runner.id).toBe("core-f32");
    expect(warning).toMatch(/^ort-node-webgpu-f16: the webgpu session failed its first run: Device lost; running on core-f32$/);
    expect(compareRows(await runner.forward(contexts, 2), expected, DIM).maxAbsDiff).toBeLessThan(1e-4);
    runner.dispose();
  });

  it("when the GPU fails later: that request and the next are answered by the core, with one warning", async () => {
    const warnings: string[] = [];
    const { runner, warning } = await openRunnerForModel(m, "ort-node-webgpu", {
      createSession: fakeSession(3, unit),
      fallback: "core-f32",
      onWarning: (w) => warnings.push(w),
    });
    expect(warning).toBeUndefined();
    expect(runner.id).toBe("ort-node-webgpu");
    expect(await runner.forward(contexts, 2)).toEqual(unit(2)); // run 2: the (fake) GPU
    await expect(runner.forward(contexts, 3)).rejects.toThrow(/expected 3 x 5 x 64/); // bad input is not a GPU fault
    const [a, b] = await Promise.all([runner.forward(contexts, 2), runner.forward(contexts, 2)]); // run 3 fails
    for (const out of [a, b, await runner.forward(contexts, 2)]) expect(compareRows(out, expected, DIM).maxAbsDiff).toBeLessThan(1e-4);
    expect(runner.id).toBe("core-f32");
    expect(warnings).toEqual(["ort-node-webgpu failed (ort-node-webgpu: Device lost); running on core-f32 from now on"]);
    runner.dispose();
  });

  it("INT8 asked of a GPU backend, and CoreML off macOS, run on the core with a warning", async () => {
    const int8 = await openRunnerForModel(m, "ort-node-webgpu", { int8Onnx: true, createSession: fakeSession(99, unit) });
    expect(int8.runner.id).toBe("core-int8");
    expect(int8.warning).toMatch(/no INT8 \(MatMulInteger\) kernels; running on core-int8/);
    int8.runner.dispose();
    if (process.platform !== "darwin") {
      const coreml = await openRunnerForModel(m, "ort-node-coreml");
      expect(coreml.warning).toBe("ort-node-coreml: CoreML is macOS only; running on core-int8");
      coreml.runner.dispose();
    }
  });

  it("auto times the GPU only where it is real, and keeps the fastest engine without a warning", async () => {
    // The probe's timing is injected (ms by runner id): a GPU that measures fastest wins, and is left out without a real GPU.
    const ms: Record<string, number> = { "ort-node-webgpu": 1, "ort-node-int8-row": 2, "core-int8": 3 };
    const probe = { time: (r: { id: string }) => ms[r.id] };
    const none = await openRunnerForModel(m, "auto", { detect: () => ({ real: false, reason: "Linux: no Vulkan driver" }), probe });
    expect(none.warning).toBeUndefined();
    expect(none.runner.id).toBe("ort-node-int8-row");
    expect(none.detail).toBe(
      "auto: ort-node-int8-row: 1.5x core-int8 at batch 32, 1.5x at batch 1 (startup probe); no real GPU (Linux: no Vulkan driver)",
    );
    none.runner.dispose();
    const real = await openRunnerForModel(m, "auto", {
      detect: () => ({ real: true, reason: "test GPU" }),
      createSession: fakeSession(99, unit),
      probe,
    });
    expect(real.runner.id).toBe("ort-node-webgpu");
    expect(real.detail).toMatch(/^auto: ort-node-webgpu: 2\.0x ort-node-int8-row at batch 32, .*3\.0x core-int8 .*; GPU: test GPU$/);
    real.runner.dispose();
  });

  it("parseBackend knows the GPU names", () => {
    expect(parseBackend("auto")).toBe("auto");
    expect(parseBackend("ort-node-webgpu-f16")).toBe("ort-node-webgpu-f16");
    expect(() => parseBackend("webgpu")).toThrow(/known: .*ort-node-webgpu, ort-node-webgpu-f16, ort-node-coreml, auto/);
  });

  it("a child process whose Vulkan driver path is bogus falls back (real onnxruntime, real Dawn)", () => {
    const env = {
      ...(swiftShaderEnv() ?? process.env),
      VK_ICD_FILENAMES: "/nonexistent/icd.json",
      VK_DRIVER_FILES: "/nonexistent/icd.json",
    };
    const child = spawnSync(process.execPath, [join(REPO, "test/lvm/gpu-child.ts"), "fallback"], {
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    const line = child.stdout.split("\n").find((l) => l.startsWith("GPU-RESULT "));
    expect(line, child.stderr).toBeDefined();
    const result = JSON.parse((line as string).slice("GPU-RESULT ".length));
    expect(result.id).toBe("core-int8");
    expect(result.warning).toMatch(/^ort-node-webgpu: no webgpu session: .*adapter.*; running on core-int8$/);
    expect(result.vsReference.minCosine).toBeGreaterThan(0.995);
  });
});

describe("detectGpu", () => {
  it("tells software Vulkan drivers from real ones, and needs a GPU device for a real one", async () => {
    await using dir = await tempDir();
    const icd = async (name: string, library: string) => {
      const path = join(dir.path, name);
      await writeFile(path, JSON.stringify({ file_format_version: "1.0.0", ICD: { library_path: library, api_version: "1.3.0" } }));
      return path;
    };
    const swiftshader = await icd("swiftshader.json", "./libvk_swiftshader.so");
    const lavapipe = await icd("lvp_icd.x86_64.json", "/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so");
    const nvidia = await icd("nvidia_icd.json", "libGLX_nvidia.so.0");
    const linux = (files: string[], devices: string[]) =>
      detectGpu({ platform: "linux", env: { VK_ICD_FILENAMES: files.join(":") }, devices });
    expect(linux([swiftshader], ["/dev/dri/renderD128"])).toMatchObject({
      real: false,
      reason: "Linux: only software Vulkan drivers (libvk_swiftshader.so)",
    });
    expect(linux([swiftshader, lavapipe], [])).toMatchObject({ real: false });
    expect(linux([nvidia], [])).toMatchObject({ real: false, reason: "Linux: Vulkan driver libGLX_nvidia.so.0 but no GPU device in /dev" });
    expect(linux([swiftshader, nvidia], ["/dev/nvidia0"])).toMatchObject({
      real: true,
      reason: "Linux: Vulkan driver libGLX_nvidia.so.0, /dev/nvidia0",
    });
    expect(detectGpu({ platform: "linux", env: {}, devices: ["/dev/nvidia0"], icdDirs: [join(dir.path, "none")] })).toMatchObject({
      real: false,
      reason: "Linux: no Vulkan driver",
    });
    expect(detectGpu({ platform: "linux", env: {}, devices: ["/dev/dri/renderD128"], icdDirs: [dir.path] }).real).toBe(true);
    expect(detectGpu({ platform: "darwin", env: {} }).real).toBe(true);
  });
});

describe("loadModels with a runner backend (the server's models)", () => {
  it("serves the shipped model through select-node, a failing GPU backend on the core with one warning", async () => {
    const { loadCore } = await import("../../src/core/wasm-core-node.ts");
    const { loadModels, SHIPPED_MODELS_DIR } = await import("../../src/lvm/load-models-node.ts");
    const { ModelRegistry } = await import("../../src/lvm/registry.ts");
    const core = await loadCore();
    const registry = new ModelRegistry();
    const store = { id: "use-lite", dim: 512 };
    const warnings: string[] = [];
    // CoreML off macOS, or (on macOS) INT8 asked of it: either way the core answers.
    const backend = process.platform === "darwin" ? "ort-node-webgpu" : "ort-node-coreml";
    await loadModels(registry, core, [SHIPPED_MODELS_DIR, SHIPPED_MODELS_DIR], store, { backend, warn: (w) => warnings.push(w) });
    const model = registry.get("gru-edge");
    if (!model) return; // no shipped model in this checkout
    if (process.platform !== "darwin") {
      expect(model.backend).toBe("core-int8");
      expect(warnings).toEqual(["ort-node-coreml: CoreML is macOS only; running on core-int8"]); // once for both roots
    }
    const contexts = randomContexts(2, 5, 512, 1);
    expect((await model.forward(contexts, 2)).length).toBe(2 * 512);
    await loadModels(registry, core, [SHIPPED_MODELS_DIR], store, { backend: "ort-node" });
    expect(registry.get("gru-edge")?.backend).toBe("ort-node");
    registry.clear();
  });
});
