// Builds worker-assets/: the files the Cloudflare Worker bundles (wrangler imports them as modules):
// the demo store without float32 vectors (INT8 + scales only) and the default edge model, plus a
// generated index.ts that imports them. Run by `npm run build` (so by npm install) and before `wrangler`.
// The vector-to-text decoder (models/decoder/, or LVM_WORKER_DECODER=<dir>|off), when there is one: its
// model.json goes into index.ts, its weights.bin to the static assets (public/decoder/weights.bin, staged in
// worker-assets/decoder/ for build-web.ts, which rebuilds public/), read by the Worker on the first decode request:
// bundled as module data, the shipped INT8 decoder (~12 MB) would take the upload past the 10 MB limit. Its
// model.json goes to the static assets too (public/decoder/model.json), for the page's in-browser decoder.
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDecoderFiles } from "../src/decoder/decoder-files.ts";
import { ensureDemoStore } from "../src/entries/demo-store.ts";
import { modelDirs, SHIPPED_MODELS_DIR } from "../src/lvm/load-models-node.ts";
import { BUNDLE_FILES, committedLengths, FILES } from "../src/store/format.ts";
import { readManifest } from "../src/store/fs-store.ts";

const OUT = fileURLToPath(new URL("../worker-assets/", import.meta.url));
const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));
/** The decoder's weights in the static assets (the Worker fetches it through its ASSETS binding, the page by URL). */
export const DECODER_WEIGHTS_ASSET = "decoder/weights.bin";
/** The decoder's model.json in the static assets (for the page; the Worker has it in index.ts). */
export const DECODER_MANIFEST_ASSET = "decoder/model.json";

/** The store's files under their bundle names, each cut to its committed length. */
const COPIED = ["documents", "texts", "rows", "int8", "scales"] as const;

async function copyCommitted(storeDir: string, out: string, file: (typeof COPIED)[number], length: number) {
  const bytes = await readFile(join(storeDir, FILES[file]));
  await writeFile(join(out, BUNDLE_FILES[file]), bytes.subarray(0, length));
}

export interface WorkerAssetsOptions {
  /** The LVM to bundle, by directory name (default $LVM_WORKER_MODEL, else the first "edge" model, else the first). */
  model?: string;
  /** The decoder directory; null: none (default $LVM_WORKER_DECODER, "off" for none, else <modelsRoot>/decoder/ if present). */
  decoder?: string | null;
  /** Where the models are (default models/). */
  modelsRoot?: string;
  /** Output folder (default worker-assets/). */
  out?: string;
  /** The static assets folder the decoder's weights go to (default public/). */
  publicDir?: string;
}

/** The decoder directory to bundle, if any (see WorkerAssetsOptions.decoder). */
async function decoderDir(option: string | null | undefined, modelsRoot: string): Promise<string | undefined> {
  if (option === null) return undefined;
  const dir = option ?? process.env.LVM_WORKER_DECODER;
  if (dir === "off") return undefined;
  if (dir) return dir;
  const shipped = join(modelsRoot, "decoder");
  return (await readFile(join(shipped, "model.json")).then(
    () => true,
    () => false,
  ))
    ? shipped
    : undefined;
}

/** Checks the decoder's files (format, shapes, weights' checksum) and stages them; returns what index.ts exports. */
async function stageDecoder(dir: string, out: string, publicDir: string) {
  const manifestText = await readFile(join(dir, "model.json"), "utf8");
  const weights = new Uint8Array(await readFile(join(dir, "weights.bin")));
  parseDecoderFiles(manifestText, weights, dir);
  await mkdir(join(out, "decoder"), { recursive: true });
  await mkdir(join(publicDir, "decoder"), { recursive: true });
  for (const dest of [out, publicDir]) {
    await writeFile(join(dest, DECODER_WEIGHTS_ASSET), weights);
    await writeFile(join(dest, DECODER_MANIFEST_ASSET), manifestText);
  }
  return { name: basename(dir), manifestText, weightsAsset: DECODER_WEIGHTS_ASSET, weightBytes: weights.length };
}

export async function buildWorkerAssets(
  options: WorkerAssetsOptions = {},
): Promise<{ bytes: number; model?: string; decoder?: string; decoderBytes?: number }> {
  const out = options.out ?? OUT;
  const publicDir = options.publicDir ?? PUBLIC;
  const modelsRoot = options.modelsRoot ?? SHIPPED_MODELS_DIR;
  const storeDir = await ensureDemoStore();
  const manifest = await readManifest(storeDir);
  const lengths = committedLengths(manifest);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, BUNDLE_FILES.manifest), JSON.stringify(manifest));
  for (const file of COPIED) await copyCommitted(storeDir, out, file, lengths[file]);
  // modelDirs skips models/decoder/ (its model.json is the decoder's format, not an LVM's).
  const dirs = await modelDirs(modelsRoot);
  const wanted = options.model ?? process.env.LVM_WORKER_MODEL;
  const modelDir = dirs.find((d) => basename(d) === wanted) ?? dirs.find((d) => basename(d).includes("edge")) ?? dirs[0];
  const lines = [
    "// Generated by scripts/build-worker-assets.ts: do not edit.",
    `import store from "./${BUNDLE_FILES.manifest}" with { type: "json" };`,
    ...COPIED.map((file) => `import ${file} from "./${BUNDLE_FILES[file]}";`),
  ];
  if (modelDir) {
    await mkdir(join(out, "model"));
    await copyFile(join(modelDir, "model.json"), join(out, "model", "model.json"));
    await copyFile(join(modelDir, "weights.bin"), join(out, "model", "weights.bin"));
    lines.push('import modelManifest from "./model/model.json" with { type: "json" };', 'import modelWeights from "./model/weights.bin";');
    lines.push(
      `export const model: BundledModel | undefined = { name: ${JSON.stringify(basename(modelDir))}, manifest: modelManifest, weights: modelWeights };`,
    );
  } else {
    lines.push("export const model: BundledModel | undefined = undefined;");
  }
  await rm(join(publicDir, "decoder"), { recursive: true, force: true });
  const decoderPath = await decoderDir(options.decoder, modelsRoot);
  const decoder = decoderPath ? await stageDecoder(decoderPath, out, publicDir) : undefined;
  lines.push(`export const decoder: BundledDecoder | undefined = ${decoder ? JSON.stringify(decoder) : "undefined"};`);
  lines.splice(
    1,
    0,
    "type BundledModel = { name: string; manifest: unknown; weights: ArrayBuffer };",
    "type BundledDecoder = { name: string; manifestText: string; weightsAsset: string; weightBytes: number };",
  );
  lines.push(
    "export const storeFiles = { manifest: JSON.stringify(store), documents: documents as string, texts: texts as ArrayBuffer, rows: rows as ArrayBuffer, int8: int8 as ArrayBuffer, scales: scales as ArrayBuffer };",
    "",
  );
  await writeFile(join(out, "index.ts"), lines.join("\n"));
  const bytes = lengths.documents + lengths.texts + lengths.rows + lengths.int8 + lengths.scales;
  return { bytes, model: modelDir && basename(modelDir), decoder: decoderPath, decoderBytes: decoder?.weightBytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { bytes, model, decoder, decoderBytes } = await buildWorkerAssets();
  console.log(
    `worker-assets: demo store ${(bytes / 1e6).toFixed(1)} MB (INT8 vectors)${model ? `, model ${model}` : ", no trained model (baselines only)"}${
      decoder ? `, decoder ${decoder} (${((decoderBytes ?? 0) / 1e6).toFixed(1)} MB of weights in the static assets)` : ", no decoder"
    }`,
  );
}
