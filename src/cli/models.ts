import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { GTR_FILES, GTR_ONNX_FILES, GTR_T5_BASE, GTR_T5_DIM, type GtrDtype, gtrEncoderId } from "../encoders/gtr-t5.ts";
import { modelsDir } from "../encoders/gtr-t5-node.ts";
import { parseModelManifest } from "../lvm/model-format.ts";
import { type Command, UsageError } from "./command.ts";
import { createProgress, type Progress } from "./progress.ts";

const DTYPES = Object.keys(GTR_ONNX_FILES) as GtrDtype[];

export const modelsCommand: Command = {
  usage: `lvm models pull <name> [--from <url>] [--dir <models dir>] [--dtype q8|fp32|fp16] [--revision <rev>]
lvm models list [--dir <models dir>]

pull   downloads a model's files into <models dir>/<name>/ from the Hugging Face hub (or a mirror), resuming
       partial downloads and verifying sizes and SHA-256 checksums; lists what it wrote. Pullable:
         ${GTR_T5_BASE}  GTR-T5-base sentence encoder (768-D): ONNX T5 encoder, tokenizer, Dense head
                      (hub: sentence-transformers/gtr-t5-base)
list   the encoders and LVM model directories in <models dir>

Options:
  --dir <dir>        models directory                                   [$LVM_MODELS_DIR or the repository's models/]
  --from <url>       mirror URL holding the files at their models/<name>/ paths, e.g. a pulled folder served over HTTP
  --dtype <d>        ONNX encoder variant: q8 (INT8, ~110 MB), fp32 (~440 MB), fp16      [q8]
  --revision <rev>   hub branch, tag or commit                         [main]

Once pulled: lvm ingest <corpus> --store <dir> --encoder gtr-t5-base   (or gtr-t5-base+vec2text); see docs/gtr-t5.md.`,
  allowPositionals: true,
  options: {
    from: { type: "string" },
    dir: { type: "string" },
    dtype: { type: "string" },
    revision: { type: "string" },
  },
  async run(values, positionals) {
    const [sub, ...rest] = positionals;
    const dir = typeof values.dir === "string" ? values.dir : modelsDir();
    if (sub === "pull") {
      if (rest.length !== 1) throw new UsageError(`pull takes one model name (${GTR_T5_BASE})`);
      const dtype = (values.dtype ?? "q8") as GtrDtype;
      if (!DTYPES.includes(dtype)) throw new UsageError(`--dtype must be one of ${DTYPES.join(", ")}, got '${values.dtype}'`);
      return pull(rest[0], dir, values.from as string | undefined, dtype, values.revision as string | undefined);
    }
    if (sub === "list") {
      if (rest.length > 0) throw new UsageError("list takes no arguments");
      return list(dir);
    }
    throw new UsageError(sub ? `unknown subcommand '${sub}' (pull, list)` : "expected a subcommand: pull or list");
  },
};

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`;
}

async function pull(name: string, dir: string, from: string | undefined, dtype: GtrDtype, revision: string | undefined): Promise<number> {
  // A progress line per large file (the configs are a few hundred bytes each).
  let progress: Progress | undefined;
  let current = "";
  // The download client loads only for `pull`.
  const { PULL_MANIFEST, pullModel } = await import("../encoders/models-pull.ts");
  const result = await pullModel({
    name,
    dir,
    from,
    dtype,
    revision,
    onFile(path) {
      progress?.stop();
      progress = undefined;
      current = path;
    },
    onProgress(path, done, total) {
      if (!progress && path === current && (total === undefined || total >= 1e6)) progress = createProgress(path);
      progress?.update(done, total ?? done);
    },
  }).finally(() => progress?.stop());
  console.log(`pulled ${name} from ${result.source} into ${result.dir}`);
  const width = Math.max(...result.files.map((f) => f.path.length));
  for (const f of result.files) {
    const how = f.status === "resumed" ? `resumed at ${mb(f.resumedFrom ?? 0)}` : f.status;
    console.log(`  ${f.path.padEnd(width)}  ${mb(f.size).padStart(9)}  sha256 ${f.sha256.slice(0, 16)}…  ${how}`);
  }
  if (result.absent.length > 0) console.log(`  (optional, not in the source: ${result.absent.join(", ")})`);
  const shown = relative(process.cwd(), result.dir);
  console.log(`  recorded in ${join(shown && !shown.startsWith("..") ? shown : result.dir, PULL_MANIFEST)}`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function folderSize(path: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

async function list(dir: string): Promise<number> {
  const entries = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name);
  const encoders: string[] = [];
  const encoderDirs = new Set<string>();
  const lvms: string[] = [];
  for (const name of entries.sort()) {
    const path = join(dir, name);
    if (await exists(join(path, "model.json"))) {
      try {
        const m = parseModelManifest(await readFile(join(path, "model.json"), "utf8"), join(name, "model.json"));
        lvms.push(`  ${name.padEnd(20)} ${m.config.arch.padEnd(12)} dim ${m.config.dim}  encoder ${m.encoder.id}`);
      } catch (error) {
        lvms.push(`  ${name.padEnd(20)} unreadable model.json (${(error as Error).message})`);
      }
    } else if (await exists(join(path, GTR_FILES.config.path))) {
      const missing: string[] = [];
      for (const f of [GTR_FILES.config, GTR_FILES.tokenizer, GTR_FILES.tokenizerConfig, GTR_FILES.denseConfig, GTR_FILES.denseWeights]) {
        if (!(await exists(join(path, f.path)))) missing.push(f.path);
      }
      const onnx = [];
      for (const [dtype, file] of Object.entries(GTR_ONNX_FILES)) if (await exists(join(path, file))) onnx.push(dtype);
      if (onnx.length === 0) missing.push(GTR_ONNX_FILES.q8);
      const ids = [gtrEncoderId(name, "sentence-transformers"), gtrEncoderId(name, "vec2text")].join(", ");
      const state = missing.length ? `incomplete, missing ${missing.join(", ")} (lvm models pull ${name})` : `onnx ${onnx.join("+")}`;
      encoders.push(`  ${name.padEnd(20)} ${mb(await folderSize(path)).padStart(9)}  ${state}  ids: ${ids}`);
      encoderDirs.add(name);
    }
  }
  console.log(`models in ${dir}`);
  console.log("encoders (lvm ingest --encoder <id>):");
  console.log("  use-lite             built in (npm package), dim 512");
  for (const line of encoders) console.log(line);
  const { PULL_SPECS } = await import("../encoders/models-pull.ts");
  for (const spec of Object.values(PULL_SPECS)) {
    if (!encoderDirs.has(spec.name))
      console.log(
        `  ${spec.name.padEnd(20)} not pulled: lvm models pull ${spec.name}  (dim ${spec.name === GTR_T5_BASE ? GTR_T5_DIM : "?"})`,
      );
  }
  console.log("LVM models:");
  if (lvms.length === 0) console.log("  (none)");
  for (const line of lvms) console.log(line);
  return 0;
}
