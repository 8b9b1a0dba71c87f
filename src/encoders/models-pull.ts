/**
 * `lvm models pull`: downloads a pullable model's files (the ONNX encoder, tokenizer, configs, Dense weights)
 * from the Hugging Face hub, or from a mirror URL, into models/<name>/. The only place in the project that
 * talks to a remote host.
 *
 * - Resumes: each file streams into `<file>.part`; a rerun asks for the rest with an HTTP Range request.
 * - Verifies: the size against the server's (Content-Length / Content-Range / the hub's X-Linked-Size) and the
 *   SHA-256 against the hub's X-Linked-Etag (LFS files) or a mirror's lvm-files.json; a mismatch deletes the file.
 * - Records: models/<name>/lvm-files.json lists every file with its size and SHA-256, so a pulled folder served
 *   as static files is itself a verified mirror (`--from http://host/models/gtr-t5-base/`).
 * - Offline: a connection failure is one clear message, never a stack trace.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../fs/atomic-write-node.ts";
import { nonNegativeInt, parseJsonFile } from "../validate/parse-file.ts";
import {
  GTR_ONNX_FILES,
  GTR_T5_BASE,
  type GtrDtype,
  parseDenseConfig,
  parseGtrEncoderId,
  readTorchSingleTensor,
  writeSafetensors,
} from "./gtr-t5.ts";

export const HUB_URL = "https://huggingface.co";
export const PULL_MANIFEST = "lvm-files.json";

export interface PullFileSpec {
  /** Path under models/<name>/. */
  path: string;
  /** Paths to try, in order, under the hub repo (a mirror is tried at `path` first). */
  remote: string[];
  optional?: boolean;
}

export interface PullSpec {
  name: string;
  repo: string;
  revision: string;
  description: string;
  files(dtype: GtrDtype): PullFileSpec[];
}

const same = (path: string, optional = false): PullFileSpec => ({ path, remote: [path], optional });

export const PULL_SPECS: Record<string, PullSpec> = {
  [GTR_T5_BASE]: {
    name: GTR_T5_BASE,
    repo: "sentence-transformers/gtr-t5-base",
    revision: "main",
    description: "GTR-T5-base sentence encoder (768-D): ONNX T5 encoder, tokenizer, Dense head",
    files: (dtype) => [
      same("config.json"),
      same("tokenizer.json"),
      same("tokenizer_config.json"),
      same("special_tokens_map.json", true),
      same("modules.json", true),
      same("sentence_bert_config.json", true),
      same("1_Pooling/config.json", true),
      same("2_Dense/config.json"),
      { path: "2_Dense/model.safetensors", remote: ["2_Dense/model.safetensors", "2_Dense/pytorch_model.bin"] },
      {
        path: GTR_ONNX_FILES[dtype],
        // transformers.js' name first, then sentence-transformers' exports of the same encoder.
        remote:
          dtype === "q8"
            ? [GTR_ONNX_FILES.q8, "onnx/model_qint8_avx512.onnx", "onnx/model_quint8_avx2.onnx"]
            : dtype === "fp16"
              ? [GTR_ONNX_FILES.fp16, "onnx/model_O4.onnx"]
              : [GTR_ONNX_FILES.fp32],
      },
    ],
  },
};

export class PullError extends Error {
  override name = "PullError";
}

export interface PulledFile {
  path: string;
  size: number;
  sha256: string;
  url: string;
  status: "downloaded" | "resumed" | "up to date" | "converted";
  /** Bytes already on disk when a resumed download started. */
  resumedFrom?: number;
}

export interface PullOptions {
  name: string;
  /** The models directory; the files go to <dir>/<name>/. */
  dir: string;
  /** A mirror: a URL prefix holding the files at their models/<name>/ paths (or the hub's). */
  from?: string;
  dtype?: GtrDtype;
  revision?: string;
  /** For tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  onFile?(path: string, url: string): void;
  onProgress?(path: string, done: number, total: number | undefined): void;
}

export interface PullResult {
  dir: string;
  source: string;
  files: PulledFile[];
  /** Optional files no source had. */
  absent: string[];
}

interface Expected {
  size?: number;
  sha256?: string;
}

/** lvm-files.json: {format: "lvm-edge-pull", name, repo, source, files: {<file>: {size, sha256, url?}}}. */
export const PullRecordSchema = z.object({
  files: z
    .record(
      z.string(),
      z.object({
        size: nonNegativeInt(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: "expected a SHA-256 as 64 lowercase hex digits" }),
        url: z.string().optional(),
      }),
    )
    .optional(),
});
type ManifestFile = NonNullable<z.infer<typeof PullRecordSchema>["files"]>[string];

export function pullSpec(name: string): PullSpec {
  const spec = PULL_SPECS[parseGtrEncoderId(name).model];
  if (!spec) throw new PullError(`no pullable model '${name}' (known: ${Object.keys(PULL_SPECS).join(", ")})`);
  return spec;
}

function hubBase(spec: PullSpec, revision: string): string {
  const host = (process.env.HF_ENDPOINT || HUB_URL).replace(/\/+$/, "");
  return `${host}/${spec.repo}/resolve/${encodeURIComponent(revision)}/`;
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A fetch that failed before any response: the host is unreachable (offline, DNS, refused). */
function unreachable(error: unknown, url: string, spec: PullSpec, target: string): PullError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  const host = new URL(url).host;
  return new PullError(
    `cannot reach ${host} (${why}). lvm models pull needs network access to ${host}. Without it, copy a ${spec.name}/ folder ` +
      `pulled on another machine into ${dirname(target)}/, or serve one over HTTP and pass --from <url>.`,
  );
}

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    () => undefined,
  );
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The local record (none yet: empty); a malformed one is an error naming its field. */
async function readManifest(path: string): Promise<Record<string, ManifestFile>> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return {};
  const mend = (m: string) => new PullError(`${m} (delete it to pull every file again)`);
  return parseJsonFile(PullRecordSchema, text, path, mend).files ?? {};
}

/** The server's view of a file without downloading it: absent, or its size and SHA-256 when it says. */
async function probe(doFetch: typeof fetch, url: string): Promise<{ found: false } | { found: true; expected: Expected }> {
  const res = await doFetch(url, { method: "HEAD", redirect: "manual" });
  if (res.status === 404) return { found: false };
  if (res.status === 401 || res.status === 403) throw new PullError(`${url}: HTTP ${res.status} (the repository is private or gated)`);
  if (res.status >= 400) throw new PullError(`${url}: HTTP ${res.status} ${res.statusText}`);
  const expected: Expected = {};
  // The hub answers LFS files with a redirect carrying the real size and SHA-256.
  const linkedSize = res.headers.get("x-linked-size");
  const length = res.headers.get("content-length");
  if (linkedSize) expected.size = Number(linkedSize);
  else if (res.status === 200 && length) expected.size = Number(length);
  const etag = (res.headers.get("x-linked-etag") ?? "").replace(/^W\//, "").replaceAll('"', "").toLowerCase();
  if (SHA256.test(etag)) expected.sha256 = etag;
  return { found: true, expected };
}

/** Downloads `url` into `dest` via `dest.part`, resuming a partial file. */
async function download(
  doFetch: typeof fetch,
  url: string,
  dest: string,
  expected: Expected,
  onProgress: (done: number, total: number | undefined) => void,
): Promise<{ resumedFrom?: number; sha256: string }> {
  const part = `${dest}.part`;
  let have = (await sizeOf(part)) ?? 0;
  if (expected.size !== undefined && have > expected.size) {
    await rm(part, { force: true });
    have = 0;
  }
  let resumedFrom: number | undefined;
  if (expected.size === undefined || have < expected.size) {
    let res = await doFetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {} });
    if (res.status === 416 && have > 0) {
      // The partial file is not a prefix the server recognises: start again.
      await res.body?.cancel();
      await rm(part, { force: true });
      have = 0;
      res = await doFetch(url);
    }
    if (!res.ok) throw new PullError(`${url}: HTTP ${res.status} ${res.statusText}`);
    let total = expected.size;
    if (res.status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!range || Number(range[1]) !== have) {
        await res.body?.cancel();
        await rm(part, { force: true });
        throw new PullError(`${url}: the server resumed at the wrong offset; the partial file was removed, run the command again`);
      }
      if (range[3] !== "*") total ??= Number(range[3]);
      resumedFrom = have;
    } else {
      have = 0;
      const length = res.headers.get("content-length");
      if (length && !res.headers.get("content-encoding")) total ??= Number(length);
    }
    expected.size = total;
    await mkdir(dirname(part), { recursive: true });
    const file = await open(part, have > 0 ? "a" : "w");
    let done = have;
    try {
      if (!res.body) throw new PullError(`${url}: empty response`);
      const reader = res.body.getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        await file.write(value);
        done += value.byteLength;
        onProgress(done, total);
      }
    } catch (error) {
      if (error instanceof PullError) throw error;
      throw new PullError(
        `download of ${url} was interrupted after ${done} bytes (${(error as Error).message}); run the same command again to resume`,
      );
    } finally {
      await file.close();
    }
  }
  const size = (await sizeOf(part)) ?? 0;
  if (expected.size !== undefined && size !== expected.size) {
    if (size > expected.size) await rm(part, { force: true });
    throw new PullError(
      `${url}: got ${size} bytes, expected ${expected.size}` +
        (size > expected.size ? "; the file was removed, run the command again" : "; run the same command again to resume"),
    );
  }
  const sha256 = await sha256File(part);
  if (expected.sha256 && sha256 !== expected.sha256) {
    await rm(part, { force: true });
    throw new PullError(
      `${url}: SHA-256 ${sha256} does not match the expected ${expected.sha256}; the file was removed, run the command again`,
    );
  }
  await rename(part, dest);
  return { resumedFrom, sha256 };
}

/** Fetches every file of `options.name` into <dir>/<name>/ and records them in lvm-files.json. */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  const spec = pullSpec(options.name);
  const doFetch = options.fetch ?? fetch;
  const target = join(options.dir, spec.name);
  const mirror = options.from !== undefined;
  const base = mirror ? withSlash(options.from!) : hubBase(spec, options.revision ?? spec.revision);
  if (!URL.canParse(base) || !["http:", "https:"].includes(new URL(base).protocol))
    throw new PullError(`--from must be an http(s) URL, got '${options.from}'`);
  const manifestPath = join(target, PULL_MANIFEST);
  const local = await readManifest(manifestPath);
  let remoteManifest: Record<string, ManifestFile> = {};
  const reach = async <T>(url: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (error) {
      if (error instanceof PullError) throw error;
      throw unreachable(error, url, spec, target);
    }
  };
  if (mirror) {
    // A mirror made by `lvm models pull` lists sizes and checksums; any other mirror is checked by size only.
    const url = base + PULL_MANIFEST;
    const res = await reach(url, () => doFetch(url));
    if (res.ok) {
      try {
        remoteManifest = parseJsonFile(PullRecordSchema, await res.text(), url, (m) => new PullError(m)).files ?? {};
      } catch (error) {
        if (error instanceof PullError) throw error;
        throw new PullError(`${url}: not a valid ${PULL_MANIFEST} (${(error as Error).message})`);
      }
    } else await res.body?.cancel();
  }

  await mkdir(target, { recursive: true });
  // Gigabytes do not belong in git: the folder ignores itself.
  if ((await sizeOf(join(target, ".gitignore"))) === undefined) await writeFile(join(target, ".gitignore"), "*\n");

  const result: PullResult = { dir: target, source: base, files: [], absent: [] };
  const records: Record<string, ManifestFile> = { ...local };
  const fetchOne = async (path: string, url: string, expected: Expected): Promise<PulledFile> => {
    const dest = join(target, path);
    const existing = await sizeOf(dest);
    const record = local[path];
    if (existing !== undefined && (expected.size ?? record?.size) === existing) {
      // Verified by an earlier pull (same size and checksum on record) or by hashing it now.
      const trusted = record && record.size === existing && (!expected.sha256 || record.sha256 === expected.sha256);
      const sha256 = trusted ? record.sha256 : await sha256File(dest);
      const wanted = expected.sha256 ?? record?.sha256;
      if (!wanted || wanted === sha256) return { path, size: existing, sha256, url, status: "up to date" };
    }
    options.onFile?.(path, url);
    const { resumedFrom, sha256 } = await reach(url, () =>
      download(doFetch, url, dest, { ...expected }, (d, t) => options.onProgress?.(path, d, t)),
    );
    const size = (await sizeOf(dest))!;
    return { path, size, sha256, url, status: resumedFrom ? "resumed" : "downloaded", resumedFrom };
  };
  for (const file of spec.files(options.dtype ?? "q8")) {
    const candidates = [...new Set(mirror ? [file.path, ...file.remote] : file.remote)];
    let found: { url: string; remotePath: string; expected: Expected } | undefined;
    for (const remotePath of candidates) {
      const url = new URL(remotePath, base).href;
      const probed = await reach(url, () => probe(doFetch, url));
      if (probed.found) {
        const listed = remoteManifest[remotePath];
        found = { url, remotePath, expected: listed ? { size: listed.size, sha256: listed.sha256 } : probed.expected };
        break;
      }
    }
    if (!found) {
      if (file.optional) {
        result.absent.push(file.path);
        continue;
      }
      throw new PullError(
        `${spec.name}: no ${file.path} at ${candidates.map((c) => new URL(c, base).href).join(" or ")}` +
          (mirror ? "" : ` — the hub repository ${spec.repo} may not ship it; see docs/gtr-t5.md for exporting it and using --from`),
      );
    }
    // An older repository's torch .bin is fetched as is, then converted to the safetensors file the loader reads.
    const fetched = found.remotePath.endsWith(".bin") && file.path.endsWith(".safetensors") ? found.remotePath : file.path;
    const pulled = await fetchOne(fetched, found.url, found.expected);
    records[fetched] = { size: pulled.size, sha256: pulled.sha256, url: found.url };
    result.files.push(pulled);
    if (fetched !== file.path) {
      const converted = await torchToSafetensors(target, fetched, file.path);
      records[file.path] = { ...converted, url: found.url };
      result.files.push({ path: file.path, ...converted, url: found.url, status: "converted" });
    }
    await writeManifest(manifestPath, spec, base, records);
  }
  await writeManifest(manifestPath, spec, base, records);
  return result;
}

/** 2_Dense/pytorch_model.bin -> 2_Dense/model.safetensors (same values and dtype), shaped by 2_Dense/config.json. */
async function torchToSafetensors(target: string, from: string, to: string): Promise<{ size: number; sha256: string }> {
  const configPath = join(target, dirname(from), "config.json");
  let dense: ReturnType<typeof parseDenseConfig>;
  try {
    dense = parseDenseConfig(JSON.parse(await readFile(configPath, "utf8")));
  } catch (error) {
    throw new PullError(`cannot convert ${from}: ${configPath}: ${(error as Error).message}`);
  }
  let tensor: ReturnType<typeof readTorchSingleTensor>;
  try {
    tensor = readTorchSingleTensor(
      new Uint8Array(await readFile(join(target, from))),
      "linear.weight",
      dense.outFeatures * dense.inFeatures,
    );
  } catch (error) {
    throw new PullError(`cannot convert ${from} to ${to}: ${(error as Error).message}`);
  }
  const bytes = writeSafetensors("linear.weight", tensor.dtype, [dense.outFeatures, dense.inFeatures], tensor.raw);
  await writeFileAtomic(join(target, to), bytes);
  return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

async function writeManifest(path: string, spec: PullSpec, source: string, files: Record<string, ManifestFile>): Promise<void> {
  const body = { format: "lvm-edge-pull", name: spec.name, repo: spec.repo, source, files };
  await writeFileAtomic(path, `${JSON.stringify(body, null, 2)}\n`);
}
