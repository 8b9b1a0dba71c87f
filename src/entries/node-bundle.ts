// Node adapter: the bytes the web page's in-browser mode downloads, read from the store and model folders.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BundleSource } from "../api/app.ts";
import { exportOnnx } from "../lvm/onnx/export.ts";
import { quantizeModel } from "../lvm/quantized-model.ts";
import { readManifestFile, readModel } from "../lvm/read-model.ts";
import { BUNDLE_FILES, type BundleFile, committedLengths, FILES } from "../store/format.ts";
import { readManifest } from "../store/fs-store.ts";

/** Bundle name -> the store file it carries. */
const BY_BUNDLE_NAME = new Map<string, BundleFile>(Object.entries(BUNDLE_FILES).map(([file, name]) => [name, file as BundleFile]));

function bytes(buf: Buffer, length = buf.length): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + length) as ArrayBuffer;
}

/** `modelDirs` maps served model names to their directories. INT8 files are made on the fly from float ones. */
export function nodeBundleSource(storeDir: string, modelDirs: () => Map<string, string>): BundleSource {
  // Built once per model: INT8 files (from float ones) and the ONNX export.
  const cache = new Map<string, Promise<{ manifest: string; weights: ArrayBuffer }>>();
  const onnxCache = new Map<string, Promise<ArrayBuffer>>();
  return {
    async storeFile(name) {
      const manifest = await readManifest(storeDir);
      const file = BY_BUNDLE_NAME.get(name);
      if (!file) return undefined;
      if (file === "manifest") return JSON.stringify(manifest);
      const length = committedLengths(manifest)[file];
      const buf = await readFile(join(storeDir, FILES[file]));
      return file === "documents" ? buf.subarray(0, length).toString("utf8") : bytes(buf, length);
    },
    async modelFile(model, name) {
      const dir = modelDirs().get(model);
      if (!dir) return undefined;
      if (name === "model.onnx") {
        // For the page's WebGPU path: float32, recurrent cells unrolled into MatMul/Sigmoid/Tanh nodes.
        let onnx = onnxCache.get(model);
        if (!onnx) {
          onnx = readModel(dir).then((m) => {
            const bytes = exportOnnx(m, { unrolled: true });
            return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
          });
          onnxCache.set(model, onnx);
        }
        return onnx;
      }
      if (name !== "model.json" && name !== "weights.bin") return undefined;
      let files = cache.get(model);
      if (!files) {
        files = (async () => {
          const manifest = await readManifestFile(dir);
          if ("quantization" in manifest)
            return { manifest: JSON.stringify(manifest), weights: bytes(await readFile(join(dir, "weights.bin"))) };
          const { manifest: quantized, bytes: q } = quantizeModel(manifest, (await readModel(dir)).tensors);
          return {
            manifest: JSON.stringify(quantized),
            weights: q.buffer.slice(q.byteOffset, q.byteOffset + q.length) as ArrayBuffer,
          };
        })();
        cache.set(model, files);
      }
      const { manifest, weights } = await files;
      return name === "model.json" ? manifest : weights;
    },
  };
}
