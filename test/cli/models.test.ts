import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import { loadGtrT5Encoder } from "../../src/encoders/gtr-t5-node.ts";
import { initTensors, presetConfig } from "../../src/lvm/architectures.ts";
import { MODEL_FORMAT, MODEL_VERSION } from "../../src/lvm/model-format.ts";
import { writeModel } from "../../src/lvm/read-model.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { tinyGtrFiles, torchBinF16 } from "../encoders/fixtures/tiny-gtr.ts";
import { tempDir } from "../helpers.ts";

const FIXTURE = tinyGtrFiles();

interface Mirror {
  url: string;
  server: Server;
  requests: { method: string; path: string; range?: string }[];
  /** Paths whose next full GET dies after half the body. */
  cutOnce: Set<string>;
  files: Map<string, Uint8Array>;
}

/** A static file server on 127.0.0.1 with HEAD, Range (206) and a way to cut a download in the middle. */
async function startMirror(files: Map<string, Uint8Array>): Promise<Mirror> {
  const mirror: Mirror = { url: "", server: undefined as unknown as Server, requests: [], cutOnce: new Set(), files };
  mirror.server = createServer((req: IncomingMessage, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname).replace(/^\/m\//, "");
    mirror.requests.push({ method: req.method ?? "", path, range: req.headers.range });
    const body = mirror.files.get(path);
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    if (req.method === "HEAD") {
      res.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" }).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { "content-length": body.length - start, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { "content-length": body.length });
    if (mirror.cutOnce.delete(path)) {
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  });
  mirror.server.listen(0, "127.0.0.1");
  await once(mirror.server, "listening");
  mirror.url = `http://127.0.0.1:${(mirror.server.address() as AddressInfo).port}/m/`;
  return mirror;
}

async function lvm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("lvm models", () => {
  let mirror: Mirror;
  beforeAll(async () => {
    mirror = await startMirror(new Map(FIXTURE.files));
  });
  afterAll(() => mirror.server.close());
  afterEach(() => {
    mirror.requests.length = 0;
    mirror.cutOnce.clear();
    mirror.files = new Map(FIXTURE.files);
  });

  it("pulls from a loopback mirror, resumes an interrupted download, verifies and lists what it wrote", async () => {
    await using dir = await tempDir("lvm-pull-");
    mirror.cutOnce.add("onnx/model.onnx");
    const args = ["models", "pull", "gtr-t5-base", "--from", mirror.url, "--dir", dir.path, "--dtype", "fp32"];
    const first = await lvm(...args);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /download of http:\/\/127\.0\.0\.1:\d+\/m\/onnx\/model\.onnx was interrupted after \d+ bytes .*run the same command again to resume/,
    );
    const partSize = (await stat(join(dir.path, "gtr-t5-base", "onnx/model.onnx.part"))).size;
    expect(partSize).toBeGreaterThan(0);

    mirror.requests.length = 0;
    const second = await lvm(...args);
    expect(second.stderr).toBe("");
    expect(second.code).toBe(0);
    // Only the remaining bytes were asked for.
    expect(mirror.requests.filter((r) => r.method === "GET" && r.path === "onnx/model.onnx")).toEqual([
      { method: "GET", path: "onnx/model.onnx", range: `bytes=${partSize}-` },
    ]);
    expect(second.stdout).toMatch(/onnx\/model\.onnx\s+[\d.]+ MB\s+sha256 [0-9a-f]{16}…\s+resumed at/);
    expect(second.stdout).toMatch(/tokenizer\.json .* up to date/);
    const target = join(dir.path, "gtr-t5-base");
    for (const [path, bytes] of FIXTURE.files) expect(sha256(await readFile(join(target, path)))).toBe(sha256(bytes));
    const record = JSON.parse(await readFile(join(target, "lvm-files.json"), "utf8"));
    expect(record.files["onnx/model.onnx"]).toMatchObject({
      size: FIXTURE.files.get("onnx/model.onnx")!.length,
      sha256: sha256(FIXTURE.files.get("onnx/model.onnx")!),
    });
    expect(await readFile(join(target, ".gitignore"), "utf8")).toBe("*\n");

    // A third run downloads nothing.
    mirror.requests.length = 0;
    const third = await lvm(...args);
    expect(third.code).toBe(0);
    expect(mirror.requests.filter((r) => r.method === "GET" && r.path !== "lvm-files.json")).toEqual([]);
    expect(third.stdout.match(/up to date/g)).toHaveLength(FIXTURE.files.size);

    // The pulled folder loads through the same encoder code.
    const encoder = await loadGtrT5Encoder({ modelsDir: dir.path });
    expect(encoder.dtype).toBe("fp32");
    expect((await encoder.embed(["the cat"])).length).toBe(768);
    encoder.dispose();

    const list = await lvm("models", "list", "--dir", dir.path);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/gtr-t5-base .* onnx fp32 .*ids: gtr-t5-base, gtr-t5-base\+vec2text/);
  });

  it("takes sentence-transformers' file names (ONNX export, torch Dense weights) and checks a mirror's checksums", async () => {
    await using dir = await tempDir("lvm-pull-");
    const onnx = FIXTURE.files.get("onnx/model.onnx")!;
    mirror.files.delete("onnx/model.onnx");
    mirror.files.set("onnx/model_qint8_avx512.onnx", onnx);
    mirror.files.delete("2_Dense/model.safetensors");
    mirror.files.set("2_Dense/pytorch_model.bin", torchBinF16("linear.weight", FIXTURE.weights.dense));
    const r = await lvm("models", "pull", "gtr-t5-base", "--from", mirror.url, "--dir", dir.path);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2_Dense\/model\.safetensors .* converted/);
    const target = join(dir.path, "gtr-t5-base");
    expect(sha256(await readFile(join(target, "onnx/model_quantized.onnx")))).toBe(sha256(onnx));
    // The converted Dense file holds the same float16 values (byte for byte what a safetensors export writes).
    expect(sha256(await readFile(join(target, "2_Dense/model.safetensors")))).toBe(sha256(FIXTURE.files.get("2_Dense/model.safetensors")!));

    // A mirror's lvm-files.json is checked: a corrupted file is refused and removed.
    await using other = await tempDir("lvm-pull-");
    const manifest = JSON.parse(await readFile(join(dir.path, "gtr-t5-base", "lvm-files.json"), "utf8"));
    mirror.files.set("lvm-files.json", new TextEncoder().encode(JSON.stringify(manifest)));
    const tokenizer = new Uint8Array(FIXTURE.files.get("tokenizer.json")!);
    tokenizer[10] ^= 1;
    mirror.files.set("tokenizer.json", tokenizer);
    const bad = await lvm("models", "pull", "gtr-t5-base", "--from", mirror.url, "--dir", other.path);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tokenizer\.json: SHA-256 [0-9a-f]{64} does not match the expected [0-9a-f]{64}; the file was removed/);
    await expect(stat(join(other.path, "gtr-t5-base", "tokenizer.json.part"))).rejects.toThrow();
  });

  it("fails with one clear line without network, and names a file no source has", async () => {
    await using dir = await tempDir("lvm-pull-");
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    try {
      const r = await lvm("models", "pull", "gtr-t5-base", "--dir", dir.path);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `lvm models: cannot reach 127.0.0.1:${port} (ECONNREFUSED). lvm models pull needs network access to 127.0.0.1:${port}. ` +
          `Without it, copy a gtr-t5-base/ folder pulled on another machine into ${dir.path}/, or serve one over HTTP and pass --from <url>.`,
      );
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
    mirror.files.delete("2_Dense/model.safetensors");
    const missing = await lvm("models", "pull", "gtr-t5-base", "--from", mirror.url, "--dir", dir.path, "--dtype", "fp32");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /gtr-t5-base: no 2_Dense\/model\.safetensors at http:\/\/127\.0\.0\.1:\d+\/m\/2_Dense\/model\.safetensors/,
    );
    expect((await lvm("models", "pull", "bert", "--dir", dir.path)).stderr).toMatch(/no pullable model 'bert' \(known: gtr-t5-base\)/);
    expect((await lvm("models", "fetch")).code).toBe(2);
  });

  it("lists pulled encoders, missing ones and LVM model directories", async () => {
    await using dir = await tempDir("lvm-list-");
    const config = presetConfig("gru-edge", 768);
    await writeModel(
      join(dir.path, "gru-test"),
      {
        format: MODEL_FORMAT,
        version: MODEL_VERSION,
        arch: config.arch,
        config,
        encoder: { id: "gtr-t5-base", dim: 768 },
        blend: { lastWeight: 0 },
        training: {},
        split: { seed: 1, fractions: [0.8, 0.1, 0.1], storeDocuments: 0, train: [], val: [], test: [] },
      },
      initTensors(config, 1),
    );
    await mkdir(join(dir.path, "broken"));
    await writeFile(join(dir.path, "broken", "model.json"), JSON.stringify({ config: { arch: "gru", dim: 768 } }));
    const r = await lvm("models", "list", "--dir", dir.path);
    expect(r.stdout).toContain("gtr-t5-base          not pulled: lvm models pull gtr-t5-base");
    expect(r.stdout).toMatch(/gru-test\s+gru\s+dim 768\s+encoder gtr-t5-base/);
    // A model.json that is not one is listed with the field its schema names, not guessed at.
    expect(r.stdout).toMatch(/broken\s+unreadable model\.json \(broken\/model\.json: format: expected "lvm-edge-model"/);
  });

  it("lvm ingest --encoder gtr-t5-base embeds with the pulled model; mixing with a USE-lite store is refused", async () => {
    await using dir = await tempDir("lvm-gtr-ingest-");
    expect((await lvm("models", "pull", "gtr-t5-base", "--from", mirror.url, "--dir", dir.path, "--dtype", "fp32")).code).toBe(0);
    const corpus = join(dir.path, "corpus.jsonl");
    const docs = [
      { id: "a", title: "A", paragraphs: ["the cat sat on the mat", "a dog ran"] },
      { id: "b", title: "B", text: "dogs\n\nthe cat" },
    ];
    await writeFile(corpus, `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`);
    const saved = process.env.LVM_MODELS_DIR;
    process.env.LVM_MODELS_DIR = dir.path;
    try {
      const gtrStore = join(dir.path, "gtr-store");
      const r = await lvm("ingest", corpus, "--store", gtrStore, "--encoder", "gtr-t5-base");
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/ingested 4 concepts from 2 documents/);
      const store = await readStore(gtrStore);
      expect(store.encoder).toEqual({ id: "gtr-t5-base", dim: 768 });
      const encoder = await loadGtrT5Encoder({ modelsDir: dir.path });
      const want = await encoder.embed(["the cat sat on the mat", "a dog ran", "dogs", "the cat"]);
      encoder.dispose();
      for (let row = 0; row < 4; row++) {
        const got = store.vector(row);
        expect(Math.max(...got.map((v, j) => Math.abs(v - want[row * 768 + j])))).toBeLessThan(1e-6);
      }

      // The vec2text head is another encoder id: refused on this store.
      const v2t = await lvm("ingest", corpus, "--store", gtrStore, "--encoder", "gtr-t5-base+vec2text");
      expect(v2t.code).toBe(1);
      expect(v2t.stderr).toContain(
        "store was built with encoder 'gtr-t5-base' (dim 768); this ingest uses encoder 'gtr-t5-base+vec2text' (dim 768)",
      );

      // A USE-lite store (imported vectors) refuses GTR, and the GTR store refuses USE-lite.
      const useStore = join(dir.path, "use-store");
      await writeFile(join(dir.path, "v.f32"), new Uint8Array(new Float32Array(4 * 512).fill(1).buffer));
      expect((await lvm("ingest", corpus, "--store", useStore, "--vectors", join(dir.path, "v.f32"))).code).toBe(0);
      const mixed = await lvm("ingest", corpus, "--store", useStore, "--encoder", "gtr-t5-base");
      expect(mixed.code).toBe(1);
      expect(mixed.stderr).toContain("store was built with encoder 'use-lite' (dim 512); this ingest uses encoder 'gtr-t5-base' (dim 768)");
      const back = await lvm("ingest", corpus, "--store", gtrStore, "--vectors", join(dir.path, "v.f32"));
      expect(back.code).toBe(1);
      expect(back.stderr).toContain("store was built with encoder 'gtr-t5-base' (dim 768); this ingest uses encoder 'use-lite' (dim 512)");
    } finally {
      if (saved === undefined) delete process.env.LVM_MODELS_DIR;
      else process.env.LVM_MODELS_DIR = saved;
    }
  });
});
