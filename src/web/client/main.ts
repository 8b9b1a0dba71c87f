// The web page's script (bundled by esbuild into public/app.js). Server mode calls the API; browser mode
// downloads the INT8 store and model once and runs the LVM and the search here, on WebGPU through
// onnxruntime-web where the browser offers an adapter, else on our WASM core.

import { WasmCore } from "../../core/wasm-core.ts";
import { CoreIndex } from "../../index/core-index.ts";
import { splitText } from "../../ingest/corpus.ts";
import { baselineModels } from "../../lvm/baselines.ts";
import { coreModel } from "../../lvm/core-model.ts";
import type { ModelManifest } from "../../lvm/model-format.ts";
import { loadModelFromBytes } from "../../lvm/reference.ts";
import { type ConceptStore, storeFromBytes } from "../../store/concept-store.ts";
import { tryWebGpuRunner, type WebGpuRunner } from "./webgpu.ts";

interface ChainItem {
  text: string;
  row?: number;
  vector?: Float32Array;
}

interface ModelInfo {
  name: string;
  arch: string;
  backend: string;
  description: string;
  default?: boolean;
}

interface Result {
  row: number;
  text: string;
  title: string;
  score: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const chain: ChainItem[] = [];
let models: ModelInfo[] = [];

async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(
    path,
    body === undefined ? undefined : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  );
  const data = await res.json();
  if (!res.ok) throw new Error(data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`);
  return data as T;
}

function setStatus(text: string) {
  $("status").textContent = text;
}

function renderChain() {
  const list = $("chain");
  list.replaceChildren(
    ...chain.map((item, i) => {
      const li = document.createElement("li");
      if (i >= chain.length - 5) li.className = "context";
      const span = document.createElement("span");
      span.className = "text";
      span.textContent = item.text;
      li.append(span);
      return li;
    }),
  );
  $("chain-count").textContent = chain.length ? `(${chain.length})` : "";
}

function selectedModels(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>("#models input:checked")].map((i) => i.value);
}

async function loadModelsList() {
  const body = await api<{ default: string; models: ModelInfo[] }>("/v1/models");
  models = body.models;
  $("models").replaceChildren(
    ...models.map((m) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = m.name;
      input.checked = m.name === body.default || m.name === "copy-last";
      label.append(input, ` ${m.name} `);
      const small = document.createElement("small");
      small.textContent = `(${m.arch === "baseline" ? "baseline" : `${m.arch}, ${m.backend}`})`;
      label.append(small);
      label.title = m.description;
      return label;
    }),
  );
}

async function loadArticles() {
  const { documents } = await api<{ documents: { index: number; title: string; concepts: number }[] }>("/v1/documents");
  const select = $<HTMLSelectElement>("article");
  for (const d of documents) {
    const option = document.createElement("option");
    option.value = String(d.index);
    option.textContent = `${d.title} (${d.concepts})`;
    select.append(option);
  }
}

async function pickArticle() {
  const index = $<HTMLSelectElement>("article").value;
  if (index === "") return;
  const doc = await api<{ concepts: { row: number; text: string; vector: number[] }[] }>(`/v1/documents/${index}?vectors=1`);
  // The first six concepts: five as context, so the seventh and later are what a reader would expect next.
  chain.splice(
    0,
    chain.length,
    ...doc.concepts.slice(0, 6).map((c) => ({ text: c.text, row: c.row, vector: Float32Array.from(c.vector) })),
  );
  $<HTMLTextAreaElement>("passage").value = doc.concepts.map((c) => c.text).join("\n\n");
  renderChain();
}

function splitPassage() {
  const text = $<HTMLTextAreaElement>("passage").value;
  const unit = $<HTMLSelectElement>("unit").value;
  let concepts = splitText(text);
  if (unit.startsWith("sentences:")) {
    const n = Number(unit.split(":")[1]);
    const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });
    concepts = concepts.flatMap((p) => {
      const s = [...segmenter.segment(p)].map((x) => x.segment.trim()).filter(Boolean);
      const groups: string[] = [];
      for (let i = 0; i < s.length; i += n) groups.push(s.slice(i, i + n).join(" "));
      return groups;
    });
  }
  chain.splice(0, chain.length, ...concepts.map((text) => ({ text })));
  renderChain();
}

// ---- in-browser execution ----------------------------------------------------------------------

interface BrowserEngine {
  store: ConceptStore;
  index: CoreIndex;
  core: WasmCore;
  runners: Map<string, { backend: string; forward(contexts: Float32Array): Promise<Float32Array> }>;
  webgpu?: WebGpuRunner;
}

let engine: Promise<BrowserEngine> | undefined;

async function loadEngine(): Promise<BrowserEngine> {
  const [core, files] = await Promise.all([
    // Relaxed SIMD where this browser has it, else the plain-SIMD core (same answers up to INT8 rounding).
    WebAssembly.compileStreaming(fetch("/core-relaxed.wasm"))
      .catch(() => WebAssembly.compileStreaming(fetch("/core.wasm")))
      .then((m) => WasmCore.instantiate(m)),
    Promise.all(
      ["store.json", "documents.jsonl", "texts.bin", "rows.bin", "vectors-i8.bin", "scales.bin"].map(async (name) => {
        const res = await fetch(`/v1/bundle/store/${name}`);
        if (!res.ok) throw new Error(`store file ${name}: HTTP ${res.status}`);
        return name.endsWith(".bin") ? res.arrayBuffer() : res.text();
      }),
    ),
  ]);
  const [manifest, documents, texts, rows, int8, scales] = files as [string, string, ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  const store = storeFromBytes({ manifest, documents, texts, rows, int8, scales });
  const index = new CoreIndex(core, store);
  return { store, index, core, runners: new Map() };
}

async function browserRunner(e: BrowserEngine, name: string) {
  const existing = e.runners.get(name);
  if (existing) return existing;
  const baseline = baselineModels(e.store.dim, e.store.encoder.id).find((m) => m.name === name);
  let runner: { backend: string; forward(contexts: Float32Array): Promise<Float32Array> };
  if (baseline) {
    runner = { backend: "baseline", forward: async (contexts) => baseline.forward(contexts, 1) as Float32Array };
  } else {
    const [manifest, weights] = await Promise.all([
      fetch(`/v1/bundle/models/${name}/model.json`).then((r) =>
        r.ok ? r.json() : Promise.reject(new Error(`model ${name}: HTTP ${r.status}`)),
      ),
      fetch(`/v1/bundle/models/${name}/weights.bin`).then((r) => r.arrayBuffer()),
    ]);
    // INT8 files are decoded by the same loader as float ones.
    const reference = loadModelFromBytes(manifest as ModelManifest, new Uint8Array(weights));
    const gpu = await tryWebGpuRunner(name);
    if (gpu) {
      runner = { backend: gpu.backend, forward: (contexts) => gpu.forward(contexts) };
    } else {
      const model = coreModel(e.core, reference, { name, precision: "int8" });
      runner = { backend: "wasm-core-int8", forward: async (contexts) => model.forward(contexts, 1) };
    }
  }
  e.runners.set(name, runner);
  return runner;
}

async function contextVectorsInBrowser(e: BrowserEngine): Promise<{ vectors: Float32Array; embedded: boolean }> {
  const dim = e.store.dim;
  const items = chain.slice(-5);
  const missing = items.filter((it) => !it.vector);
  if (missing.length > 0) {
    // Embedding stays on the server (the encoder is 27 MB); the model and the search run here.
    const { vectors } = await api<{ vectors: number[][] }>("/v1/embed", { texts: missing.map((m) => m.text) });
    missing.forEach((m, i) => {
      m.vector = Float32Array.from(vectors[i]);
    });
  }
  const out = new Float32Array(5 * dim);
  const pad = 5 - items.length;
  for (let t = 0; t < 5; t++) out.set(items[Math.max(0, t - pad)].vector as Float32Array, t * dim);
  return { vectors: out, embedded: missing.length > 0 };
}

async function predictInBrowser(names: string[], k: number): Promise<{ name: string; backend: string; ms: number; results: Result[] }[]> {
  engine ??= loadEngine();
  const e = await engine;
  const { vectors } = await contextVectorsInBrowser(e);
  const out = [];
  for (const name of names) {
    const runner = await browserRunner(e, name);
    const started = performance.now();
    const predicted = await runner.forward(vectors);
    const contextRows = new Set(chain.slice(-5).flatMap((c) => (c.row === undefined ? [] : [c.row])));
    const hits = e.index.search(predicted, k, contextRows);
    const ms = performance.now() - started;
    const results = Array.from(hits.rows, (row, i) => {
      const c = e.store.concept(row);
      return { row, text: c.text, title: c.title, score: hits.scores[i] };
    });
    out.push({ name, backend: runner.backend, ms, results });
  }
  return out;
}

// ---- server execution --------------------------------------------------------------------------

async function predictOnServer(names: string[], k: number) {
  const context = chain.slice(-5).map((c) => (c.vector ? Array.from(c.vector) : c.text));
  return Promise.all(
    names.map(async (name) => {
      const started = performance.now();
      const body = await api<{ backend: string; results: Result[]; timings: Record<string, number> }>("/v1/next", {
        context,
        k,
        model: name,
      });
      return { name, backend: `server ${body.backend}`, ms: performance.now() - started, results: body.results };
    }),
  );
}

async function predict() {
  if (chain.length === 0) {
    setStatus("Add concepts first: pick an article or paste text and split it.");
    return;
  }
  const names = selectedModels();
  if (names.length === 0) {
    setStatus("Choose at least one model.");
    return;
  }
  const k = Number($<HTMLSelectElement>("k").value);
  const mode = (document.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value ?? "server") as "server" | "browser";
  setStatus(mode === "browser" && !engine ? "Downloading the INT8 store and model…" : "Predicting…");
  try {
    const columns = mode === "browser" ? await predictInBrowser(names, k) : await predictOnServer(names, k);
    renderResults(columns);
    setStatus(
      `Ran ${mode === "browser" ? "in this browser" : "on the server"}: ${columns.map((c) => `${c.name} on ${c.backend} in ${c.ms.toFixed(1)} ms`).join("; ")}.`,
    );
  } catch (error) {
    setStatus(`Failed: ${(error as Error).message}`);
  }
}

function renderResults(columns: { name: string; backend: string; ms: number; results: Result[] }[]) {
  $("results").replaceChildren(
    ...columns.map((col) => {
      const card = document.createElement("div");
      card.className = "card";
      card.dataset.model = col.name;
      const h = document.createElement("h3");
      h.textContent = col.name;
      const meta = document.createElement("p");
      meta.className = "score";
      meta.textContent = `${col.backend}, ${col.ms.toFixed(1)} ms`;
      const list = document.createElement("ol");
      for (const r of col.results) {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.row = String(r.row);
        button.title = "Use as the next concept and predict again";
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = ` ${r.score.toFixed(3)} · ${r.title}`;
        button.append(`${r.text.slice(0, 160)}${r.text.length > 160 ? "…" : ""}`, score);
        button.addEventListener("click", () => extend(r.row));
        li.append(button);
        list.append(li);
      }
      card.append(h, meta, list);
      return card;
    }),
  );
}

async function extend(row: number) {
  const concept = await api<{ text: string; vector: number[] }>(`/v1/concepts/${row}`);
  chain.push({ text: concept.text, row, vector: Float32Array.from(concept.vector) });
  renderChain();
  await predict();
}

async function loadReport() {
  const target = $("report");
  try {
    const { reports } = await api<{ reports: { title: string; images: string[]; markdown?: string }[] }>("/reports/index.json");
    if (reports.length === 0) throw new Error("none");
    target.replaceChildren(
      ...reports.map((r) => {
        const div = document.createElement("div");
        div.className = "report";
        const h = document.createElement("h3");
        h.textContent = r.title;
        div.append(h);
        for (const src of r.images) {
          const img = document.createElement("img");
          img.src = src;
          img.alt = `${r.title}: ${src.split("/").pop()}`;
          div.append(img);
        }
        if (r.markdown) {
          const a = document.createElement("a");
          a.href = r.markdown;
          a.textContent = "full report (Markdown)";
          div.append(a);
        }
        return div;
      }),
    );
  } catch {
    target.innerHTML = '<p class="hint">No evaluation report is shipped with this deployment.</p>';
  }
}

async function loadMetrics() {
  try {
    const m = await api<{ rows: { endpoint: string; stage: string; count: number; p50: number; p95: number; p99: number }[] }>(
      "/v1/metrics?window=15",
    );
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>endpoint</th><th>stage</th><th>n</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const r of m.rows) {
      const tr = document.createElement("tr");
      for (const v of [r.endpoint, r.stage, String(r.count), r.p50.toFixed(1), r.p95.toFixed(1), r.p99.toFixed(1)]) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      body.append(tr);
    }
    table.append(body);
    $("metrics").replaceChildren(table);
  } catch (error) {
    $("metrics").textContent = `Metrics unavailable: ${(error as Error).message}`;
  }
}

$("article").addEventListener("change", () => void pickArticle());
$("split").addEventListener("click", splitPassage);
$("reset").addEventListener("click", () => {
  chain.length = 0;
  renderChain();
  $("results").replaceChildren();
});
$("predict").addEventListener("click", () => void predict());
await Promise.all([loadModelsList(), loadArticles(), loadReport(), loadMetrics()]);
setInterval(() => void loadMetrics(), 5000);
document.body.dataset.ready = "true";
