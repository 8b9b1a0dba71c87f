// The WASM SIMD core (src/core/lvm-core.ts) as an LvmRunner, f32 or INT8 (runtime-agnostic: takes a core instance).

import type { WasmCore } from "../../core/wasm-core.ts";
import { CoreLvm, type CoreModelSource, type CorePrecision } from "./core-lvm.ts";
import { checkContexts, type LvmRunner } from "./types.ts";

export class CoreRunner implements LvmRunner {
  readonly id: string;
  readonly lvm: CoreLvm;
  private readonly source: CoreModelSource;

  constructor(core: WasmCore, model: CoreModelSource, precision: CorePrecision) {
    this.id = `core-${precision}`;
    this.source = model;
    this.lvm = new CoreLvm(core, model, precision);
  }

  async forward(contexts: Float32Array, batch: number): Promise<Float32Array> {
    checkContexts(contexts, batch, this.source.config);
    return this.lvm.forward(contexts, batch);
  }

  dispose(): void {
    this.lvm.dispose();
  }
}
