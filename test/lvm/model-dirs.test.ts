// models/ may hold the vector-to-text decoder (models/decoder/, its own model.json format): the LVM loaders
// (modelDirs, loadModels, hence the Node server and build-worker-assets) never take it for an LVM, while a
// malformed model.json is still tried, so that loading it says what is wrong.
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadCore } from "../../src/core/wasm-core-node.ts";
import { encodeDecoder } from "../../src/decoder/model-format.ts";
import { loadModels, modelDirs, SHIPPED_MODELS_DIR } from "../../src/lvm/load-models-node.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { tinyConfig, tinyModel } from "../decoder/fixture.ts";
import { tempDir } from "../helpers.ts";

let root: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  root = dir.path;
  await cp(join(SHIPPED_MODELS_DIR, "gru-edge"), join(root, "gru-edge"), { recursive: true });
  const { manifest, bytes } = encodeDecoder(tinyModel(), { id: "use-lite", dim: tinyConfig.dim }, {});
  await mkdir(join(root, "decoder"));
  await writeFile(join(root, "decoder", "model.json"), JSON.stringify(manifest));
  await writeFile(join(root, "decoder", "weights.bin"), bytes);
  await mkdir(join(root, "broken"));
  await writeFile(join(root, "broken", "model.json"), "{ not json");
  await mkdir(join(root, "empty"));
});
afterAll(() => cleanup?.());

it("modelDirs skips the decoder's directory and folders without model.json, and keeps a malformed model.json", async () => {
  expect(await modelDirs(root)).toEqual([join(root, "broken"), join(root, "gru-edge")]);
});

it("loadModels serves the LVM beside a decoder with no warning about the decoder", async () => {
  const warnings: string[] = [];
  const registry = await loadModels(
    new ModelRegistry(),
    await loadCore(),
    [root],
    { id: "use-lite", dim: 512 },
    {
      warn: (m) => warnings.push(m),
    },
  );
  expect(registry.get("gru-edge")).toBeDefined();
  expect(registry.get("decoder")).toBeUndefined();
  expect(warnings.some((w) => w.includes("decoder"))).toBe(false);
  expect(warnings.some((w) => w.includes("broken"))).toBe(true);
});
