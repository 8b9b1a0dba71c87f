// The INT8 decoder directory (src/decoder/model-int8-format.ts): round trip, the core's logits from the stored INT8
// weights bit for bit those of quantising the f32 model at load, the reference on the dequantised weights, and
// corrupt, truncated or mismatched files refused by name.
import { beforeAll, describe, expect, it } from "vitest";
import type { WasmCore } from "../../src/core/wasm-core.ts";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { CoreDecoder } from "../../src/decoder/core-decoder.ts";
import { beamDecode } from "../../src/decoder/decode.ts";
import { parseDecoderFiles } from "../../src/decoder/decoder-files.ts";
import { conditioning, decodeDecoder, encodeDecoder, targetDim } from "../../src/decoder/model-format.ts";
import { type DecoderInt8Manifest, encodeInt8Decoder, quantizeDecoderWeights } from "../../src/decoder/model-int8-format.ts";
import { ReferenceDecoder } from "../../src/decoder/reference.ts";
import { BOS_ID } from "../../src/decoder/text.ts";
import { fnv1a } from "../../src/math/fnv1a.ts";
import { maxAbsDiff } from "../helpers.ts";
import { tinyConfig, tinyModel, unitVector } from "./fixture.ts";

const model = tinyModel();
const { vocab: V, dim: D, embed: E, hidden: H } = tinyConfig;
const encoder = { id: "use-lite", dim: D };
const weights = quantizeDecoderWeights(model);
const written = encodeInt8Decoder(tinyConfig, weights, encoder, { steps: 12 }, { source: "f32-dir" });
const json = JSON.stringify(written.manifest);

let core: WasmCore;
beforeAll(async () => {
  core = await loadCore();
});

/** Bytes of two float arrays that differ (0 when bit for bit equal, -0 and NaN payloads included). */
function differingBytes(a: Float32Array, b: Float32Array): number {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (x.length !== y.length) return Math.max(x.length, y.length);
  let n = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) n++;
  return n;
}

describe("INT8 decoder files", () => {
  it("round-trip the stored weights, manifest and provenance; about a quarter of the f32 size", () => {
    const files = parseDecoderFiles(json, written.bytes, "mem");
    expect(files.precision).toBe("int8");
    const m = files.manifest as DecoderInt8Manifest;
    expect(m.config).toEqual(tinyConfig);
    expect(m.encoder).toEqual(encoder);
    expect(m.training).toEqual({ steps: 12 });
    expect(m.quantization).toEqual({ scheme: "int8-per-output-row", source: "f32-dir" });
    const int8 = files.model.int8!;
    for (const [name, rows] of Object.entries(weights.matrices)) {
      const got = int8.matrices[name as keyof typeof weights.matrices];
      expect([got.outDim, got.inDim], name).toEqual([rows.outDim, rows.inDim]);
      expect(Buffer.from(got.q.buffer, got.q.byteOffset, got.q.byteLength).equals(Buffer.from(rows.q.buffer)), name).toBe(true);
      expect(differingBytes(got.scales, rows.scales), name).toBe(0);
    }
    for (const [name, b] of Object.entries(weights.biases))
      expect(differingBytes(int8.biases[name as keyof typeof weights.biases], b), name).toBe(0);
    // INT8 codes + f32 scales + f32 biases: 1 byte per weight plus a little.
    const f32Bytes = encodeDecoder(model, encoder, {}).bytes.length;
    expect(written.bytes.length).toBeLessThan(f32Bytes / 3);
  });

  it("dequantises to q * scale in the f32 layout, within half a scale step of the f32 weights", () => {
    const { model: read } = parseDecoderFiles(json, written.bytes, "mem");
    // gru.w_x [E + D, 3H] row E + 1 (vector input 1), column 5: gru.w_x.vector [3H, D] row 5, column 1.
    const xv = weights.matrices["gru.w_x.vector"];
    expect(read.tensors.get("gru.w_x")!.data[(E + 1) * 3 * H + 5]).toBe(Math.fround(xv.q[5 * D + 1] * xv.scales[5]));
    // head.w [H, V] column o has the scale of head.w row o.
    const head = read.tensors.get("head.w")!.data;
    const original = model.tensors.get("head.w")!.data;
    const scales = weights.matrices["head.w"].scales;
    for (let i = 0; i < H; i++)
      for (let o = 0; o < V; o++) expect(Math.abs(head[i * V + o] - original[i * V + o])).toBeLessThanOrEqual(scales[o] / 2 + 1e-7);
    expect([...read.tensors.keys()]).toEqual([...model.tensors.keys()]);
  });

  it("the core's INT8 logits from the file equal, bit for bit, those of quantising the f32 model at load", () => {
    const { model: read } = parseDecoderFiles(json, written.bytes, "mem");
    const atLoad = new CoreDecoder(core, model, "int8");
    const fromFile = new CoreDecoder(core, read, "int8");
    expect(fromFile.weightBytes).toBe(atLoad.weightBytes);
    const vectors = new Float32Array(3 * D);
    for (let r = 0; r < 3; r++) vectors.set(unitVector(D, 20 + r), r * D);
    const a = atLoad.start(vectors, 3);
    const b = fromFile.start(vectors, 3);
    expect(differingBytes(a.cond, b.cond) + differingBytes(a.h, b.h)).toBe(0);
    for (const step of [
      [BOS_ID, BOS_ID, BOS_ID],
      [9, 17, 39],
      [6, 6, 21],
      [33, 12, 8],
    ])
      expect(differingBytes(atLoad.step(a, step), fromFile.step(b, step))).toBe(0);
    expect(beamDecode(fromFile, vectors.subarray(0, D), 4).map((h) => h.ids)).toEqual(
      beamDecode(atLoad, vectors.subarray(0, D), 4).map((h) => h.ids),
    );
    atLoad.dispose();
    fromFile.dispose();
  });

  it("the core in INT8 runs the stored weights: it never makes the dequantised f32 tensors", () => {
    const { model: read } = parseDecoderFiles(json, written.bytes, "mem");
    const noFloats = {
      config: read.config,
      int8: read.int8,
      get tensors(): never {
        throw new Error("the core read the dequantised tensors");
      },
    };
    const runner = new CoreDecoder(core, noFloats, "int8");
    const state = runner.start(unitVector(D, 5), 1);
    expect(runner.step(state, [BOS_ID])).toHaveLength(V);
    runner.dispose();
  });

  it("the reference and the core in f32 run the dequantised weights", () => {
    const { model: read } = parseDecoderFiles(json, written.bytes, "mem");
    const v = unitVector(D, 4);
    const ref = new ReferenceDecoder(read);
    const f32 = new CoreDecoder(core, read, "f32");
    const rs = ref.start(v, 1);
    const fs = f32.start(v, 1);
    for (const id of [BOS_ID, 9, 17]) expect(maxAbsDiff(ref.step(rs, [id]), f32.step(fs, [id]))).toBeLessThan(1e-4);
    f32.dispose();
  });

  it("f32 directories still load, as before", () => {
    const f32 = encodeDecoder(model, encoder, { steps: 3 });
    const files = parseDecoderFiles(JSON.stringify(f32.manifest), f32.bytes, "old");
    expect(files.precision).toBe("f32");
    expect(files.model.int8).toBeUndefined();
    expect(files.manifest.version).toBe(1);
    expect(files.model.tensors.get("head.w")!.data).toEqual(model.tensors.get("head.w")!.data);
  });
});

describe("a corrector's INT8 files (config.corrector, v = [target ; hypothesis])", () => {
  const config = { ...tinyConfig, dim: 2 * D, corrector: true };
  const corrector = tinyModel(11, config);
  const file = encodeInt8Decoder(config, quantizeDecoderWeights(corrector), encoder, {}, { source: "f32-dir" });

  it("load with the encoder's width as half the config's, and the core runs them as the reference does", () => {
    const { model: read, manifest } = parseDecoderFiles(JSON.stringify(file.manifest), file.bytes, "mem");
    expect(manifest.config).toEqual(config);
    expect(targetDim(read.config)).toBe(D);
    // The core in f32 runs the dequantised weights as the reference does; in INT8 it picks the same pieces.
    const f32 = new CoreDecoder(core, read, "f32");
    const int8 = new CoreDecoder(core, read, "int8");
    const reference = new ReferenceDecoder(read);
    const v = conditioning(config, unitVector(D, 30), unitVector(D, 31));
    const [a, b, c] = [f32.start(v, 1), int8.start(v, 1), reference.start(v, 1)];
    const argmax = (x: Float32Array) => x.indexOf(Math.max(...x));
    for (const step of [[BOS_ID], [9], [21]]) {
      const want = reference.step(c, step);
      expect(maxAbsDiff(f32.step(a, step), want)).toBeLessThan(1e-4);
      expect(argmax(int8.step(b, step))).toBe(argmax(want));
    }
    f32.dispose();
    int8.dispose();
  });

  it("refuse an encoder width that is not the target's, naming both", () => {
    const wide = structuredClone(file.manifest);
    wide.encoder.dim = 2 * D;
    expect(() => parseDecoderFiles(JSON.stringify(wide), file.bytes, "dir")).toThrow(
      `dir/model.json: encoder.dim is ${2 * D}, expected ${D} (the decoder's target width, half of a corrector's config.dim)`,
    );
    const plain = structuredClone(written.manifest);
    plain.encoder.dim = D + 1;
    expect(() => parseDecoderFiles(JSON.stringify(plain), written.bytes, "dir")).toThrow(
      `dir/model.json: encoder.dim is ${D + 1}, expected ${D} (the decoder's target width)`,
    );
  });
});

describe("INT8 decoder files refused by name", () => {
  /** The written file with its manifest edited (weights' FNV-1a recomputed when the bytes are edited too). */
  function edited(edit: (m: DecoderInt8Manifest) => void, bytes = written.bytes): [string, Uint8Array] {
    const m = structuredClone(written.manifest);
    m.weights = { bytes: bytes.length, fnv1a: fnv1a(bytes) };
    edit(m);
    return [JSON.stringify(m), bytes];
  }
  const entry = (m: DecoderInt8Manifest, name: string) => m.tensors.find((t) => t.name === name)!;
  const refuse =
    ([text, bytes]: [string, Uint8Array]) =>
    () =>
      parseDecoderFiles(text, bytes, "dir");

  it("truncated or corrupt weights.bin", () => {
    expect(refuse([json, written.bytes.subarray(0, written.bytes.length - 4)])).toThrow(
      `dir/weights.bin (${written.bytes.length - 4} bytes) is not the file model.json was written with (${written.bytes.length} bytes)`,
    );
    const flipped = written.bytes.slice();
    flipped[100] ^= 1;
    expect(refuse([json, flipped])).toThrow("dir/weights.bin");
  });

  it("a tensor of the wrong shape or dtype, missing or extra, or a config that does not match the tensors", () => {
    const head = edited((m) => {
      entry(m, "head.w").shape = [H, V];
    });
    expect(refuse(head)).toThrow(`dir/model.json: tensors: 'head.w' is int8 [${H},${V}], expected int8 [${V},${H}]`);
    const dtype = edited((m) => {
      entry(m, "cond.b").dtype = "int8";
    });
    expect(refuse(dtype)).toThrow(`'cond.b' is int8 [${H}], expected float32 [${H}]`);
    const missing = edited((m) => {
      m.tensors = m.tensors.filter((t) => t.name !== "head.w.scale");
    });
    expect(refuse(missing)).toThrow(`dir/model.json: tensors: missing 'head.w.scale' (expected float32 [${V}])`);
    const extra = edited((m) => {
      m.tensors.push({ name: "gru.w_x", dtype: "float32", shape: [1], offset: 0 });
    });
    expect(refuse(extra)).toThrow("unexpected tensor 'gru.w_x'");
    const vocab = edited((m) => {
      m.config.vocab = V + 1;
    });
    expect(refuse(vocab)).toThrow(`'embed.tokens' is int8 [${V},${E}], expected int8 [${V + 1},${E}]`);
    const past = edited((m) => {
      entry(m, "head.b").offset = written.bytes.length;
    });
    expect(refuse(past)).toThrow(`'head.b' expected float32 [${V}] at ${written.bytes.length} runs past weights.bin`);
  });

  it("a scale that is not positive and finite, named with its index", () => {
    const bytes = written.bytes.slice();
    const at = entry(written.manifest, "cond.w.scale").offset + 4 * 3;
    new DataView(bytes.buffer).setFloat32(at, Number.NaN, true);
    expect(refuse(edited(() => {}, bytes))).toThrow("dir/weights.bin: 'cond.w.scale'[3] is NaN, expected a positive finite scale");
    new DataView(bytes.buffer).setFloat32(at, 0, true);
    expect(refuse(edited(() => {}, bytes))).toThrow("'cond.w.scale'[3] is 0, expected a positive finite scale");
  });

  it("a wrong version, and the f32 reader given an INT8 file", () => {
    const v1 = edited((m) => {
      (m as { version: number }).version = 1;
    });
    expect(refuse(v1)).toThrow("dir/model.json: version: expected 2 for an INT8 decoder, got 1");
    expect(() => decodeDecoder(json, written.bytes, "dir")).toThrow("dir/model.json: version: expected decoder version 1, got 2");
  });
});
