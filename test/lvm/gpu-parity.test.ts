// Every architecture on onnxruntime-node's WebGPU provider against the core's f32 and the TypeScript reference.
// Runs in a child process with a Vulkan driver: a real GPU when one is detected, else SwiftShader (Chromium's CPU
// Vulkan driver, from Debian's chromium package); skipped with a printed reason where neither is present.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectGpu, SWIFTSHADER_ICD, swiftShaderEnv } from "../../src/lvm/runners/gpu-detect-node.ts";
import { REPO } from "../helpers.ts";
import { GPU_PRESETS } from "./gpu-models.ts";

/** f32 graph on the GPU vs the core f32 and the reference. */
const F32_MAX_ABS_DIFF = 1e-4;
/** f16 graph (float16 weights and arithmetic, float32 blend and normalisation) vs the float32 reference. */
const F16_MAX_ABS_DIFF = 5e-3;
const F16_MIN_COSINE = 0.9995;

const detected = detectGpu();
const env = detected.real ? process.env : swiftShaderEnv();
if (!env)
  console.log(
    `GPU parity tests skipped: no real GPU (${detected.reason}) and no SwiftShader at ${SWIFTSHADER_ICD} (Debian: apt-get install chromium)`,
  );

interface Check {
  batch: number;
  vsCore: { maxAbsDiff: number; minCosine: number };
  vsReference: { maxAbsDiff: number; minCosine: number };
}

describe.skipIf(!env)(`WebGPU provider parity (${detected.real ? detected.reason : "SwiftShader"})`, () => {
  it("gru, lstm, transformer and gru-edge: f32 within 1e-4 of the core f32 and the reference; f16 within its tolerance or falls back", () => {
    const child = spawnSync(process.execPath, [join(REPO, "test/lvm/gpu-child.ts"), "parity"], { env, encoding: "utf8", timeout: 110_000 });
    const line = child.stdout.split("\n").find((l) => l.startsWith("GPU-RESULT "));
    expect(line, child.stderr.slice(-2000)).toBeDefined();
    const results = JSON.parse((line as string).slice("GPU-RESULT ".length)) as {
      preset: string;
      backend: string;
      id: string;
      warning?: string;
      checks: Check[];
    }[];
    expect(results.map((r) => `${r.preset}/${r.backend}`)).toEqual(
      GPU_PRESETS.flatMap((p) => [`${p}/ort-node-webgpu`, `${p}/ort-node-webgpu-f16`]),
    );
    for (const r of results) {
      const where = `${r.preset} ${r.backend} (${r.id})`;
      if (r.backend === "ort-node-webgpu" || r.id !== "ort-node-webgpu-f16") {
        // The f32 graph on the GPU, or the core f32 an f16 graph fell back to.
        expect(r.id, `${where}: ${r.warning}`).toBe(r.backend === "ort-node-webgpu" ? "ort-node-webgpu" : "core-f32");
        for (const c of r.checks) {
          expect(c.vsCore.maxAbsDiff, where).toBeLessThanOrEqual(F32_MAX_ABS_DIFF);
          expect(c.vsReference.maxAbsDiff, where).toBeLessThanOrEqual(F32_MAX_ABS_DIFF);
        }
      } else {
        for (const c of r.checks) {
          expect(c.vsReference.maxAbsDiff, where).toBeLessThanOrEqual(F16_MAX_ABS_DIFF);
          expect(c.vsReference.minCosine, where).toBeGreaterThanOrEqual(F16_MIN_COSINE);
        }
      }
      if (r.backend === "ort-node-webgpu-f16" && r.id !== "ort-node-webgpu-f16") {
        // SwiftShader has no shader-f16: the probe run fails and the core answers, with one warning saying so.
        expect(r.warning).toMatch(/^ort-node-webgpu-f16: the webgpu session failed its first run: .*f16.*; running on core-f32$/);
        console.log(`${r.preset}: the f16 graph fell back: ${r.warning}`);
      }
    }
  });
});
