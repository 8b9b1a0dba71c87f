// The seeded models the GPU tests run (small: SwiftShader emulates the GPU on the CPU).
import { initTensors, type Preset, presetConfig } from "../../src/lvm/architectures.ts";
import type { ReferenceModel } from "../../src/lvm/reference.ts";

export const DIM = 64;
export const GPU_PRESETS: Preset[] = ["gru", "lstm", "transformer", "gru-edge"];

export function gpuTestModel(preset: Preset): ReferenceModel {
  const config = presetConfig(preset, DIM);
  return { manifest: null as never, config, tensors: initTensors(config, 5), lastWeight: 0.2 };
}
