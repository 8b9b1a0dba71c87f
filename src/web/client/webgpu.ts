// The WebGPU path: the model exported to ONNX, run by onnxruntime-web's WebGPU execution provider.
// Used only where the browser offers a WebGPU adapter; otherwise the page falls back to the WASM core.
export interface WebGpuRunner {
  backend: string;
  forward(contexts: Float32Array): Promise<Float32Array>;
}

export async function webGpuAvailable(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

export async function tryWebGpuRunner(model: string): Promise<WebGpuRunner | undefined> {
  if (!(await webGpuAvailable())) return undefined;
  try {
    const onnx = await fetch(`/v1/bundle/models/${model}/model.onnx`);
    if (!onnx.ok) return undefined;
    // onnxruntime-web is served by the app from /ort/ (no CDN); loaded only on this path.
    const ortUrl = "/ort/ort.webgpu.min.mjs";
    const ort = await import(/* @vite-ignore */ ortUrl);
    ort.env.wasm.wasmPaths = "/ort/";
    const session = await ort.InferenceSession.create(new Uint8Array(await onnx.arrayBuffer()), { executionProviders: ["webgpu"] });
    return {
      backend: "webgpu (onnxruntime-web)",
      async forward(contexts) {
        const dim = contexts.length / 5;
        const input = new ort.Tensor("float32", contexts, [1, 5, dim]);
        const output = await session.run({ [session.inputNames[0]]: input });
        return output[session.outputNames[0]].data as Float32Array;
      },
    };
  } catch (error) {
    console.warn("WebGPU path failed, falling back to the WASM core:", error);
    return undefined;
  }
}
