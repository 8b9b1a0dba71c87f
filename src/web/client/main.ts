// The web page's script (bundled by esbuild into public/app.js): wires the controls to the modules beside it.
// Server mode calls the API (hono/client); browser mode downloads the INT8 store, the models and (for typed texts)
// the sentence encoder once and runs the same prediction service (src/predict) here, on WebGPU where the browser
// offers it, else the WASM core; typed texts are embedded here too (page-encoder.ts), never by /v1/embed.

import { client } from "./api.ts";
import { browserEngine, engineStarted } from "./browser-engine.ts";
import { chain, contextItems, renderChain, unembedded } from "./chain.ts";
import { $, setStatus } from "./dom.ts";
import { loadMetrics } from "./metrics.ts";
import { loadModelsList, selectedModels } from "./models-list.ts";
import { PAGE_DECODER_FILES, pageDecoder, pageDecoderState } from "./page-decoder.ts";
import { pageEncoderLoaded } from "./page-encoder.ts";
import { loadArticles, pickArticle, splitPassage } from "./passage.ts";
import { loadReport } from "./report.ts";
import { renderGenerated, renderResults } from "./results.ts";
import { embedTyped, type Mode, runGenerate, runNext } from "./run.ts";

const mode = () => (document.querySelector<HTMLInputElement>('input[name="mode"]:checked')?.value ?? "server") as Mode;
const where = (m: Mode) => (m === "browser" ? "in this browser" : "on the server");

/**
 * "Say it" (decode: text from the predicted vector) runs where the prediction does: on the server's decoder, or in
 * browser mode on this page's (page-decoder.ts), downloaded on the first prediction that asks for it.
 */
const decode = () => (mode() === "server" ? serverDecoder : pageDecoderState() !== "absent") && $<HTMLInputElement>("decode").checked;
let serverDecoder = false;
function updateDecodeControl() {
  const box = $<HTMLInputElement>("decode");
  const generatedNote = "Text written by the decoder, marked generated, with the cosine of its re-embedding to the prediction.";
  const browser = mode() === "browser";
  const available = browser ? pageDecoderState() !== "absent" : serverDecoder;
  const note = available
    ? browser && pageDecoderState() === "unknown"
      ? `${generatedNote} This page downloads the decoder (12 MB) on the first prediction that asks for it.`
      : generatedNote
    : browser
      ? `This deployment has no decoder (${PAGE_DECODER_FILES.manifest} is not there).`
      : "This server has no decoder (start it with LVM_DECODER=<decoder dir>).";
  box.disabled = !available;
  $("decode-note").textContent = note;
}
async function loadDecoderAvailability() {
  const res = await client.healthz.$get().catch(() => undefined);
  serverDecoder = res?.ok ? (await res.json()).decoder : false;
  updateDecodeControl();
}

/** The request's preconditions, or a status line saying what is missing. */
function ready(): string[] | undefined {
  if (chain.length === 0) {
    setStatus("Add concepts first: pick an article or paste text and split it.");
    return undefined;
  }
  const names = selectedModels();
  if (names.length === 0) {
    setStatus("Choose at least one model.");
    return undefined;
  }
  return names;
}

/** Embeds the context's typed texts where `m` runs, saying so while this page's encoder downloads (once). */
async function embed(m: Mode) {
  if (m === "browser" && !pageEncoderLoaded() && unembedded(m).length > 0)
    setStatus(engineStarted() ? "Loading the sentence encoder…" : "Downloading the INT8 store, the models and the sentence encoder…");
  await embedTyped(m);
}

/** In browser mode with "Say it", loads this page's decoder (once), saying so while it downloads. */
async function loadDecoder(m: Mode) {
  if (m !== "browser" || !decode() || pageDecoderState() !== "unknown") return;
  setStatus(`Downloading the decoder (12 MB)…`);
  await pageDecoder((await browserEngine()).core);
  updateDecodeControl(); // says so where the deployment has none
  setStatus("Predicting…");
}

async function predict() {
  const names = ready();
  if (!names) return;
  const m = mode();
  setStatus(m === "browser" && !engineStarted() ? "Downloading the INT8 store and model…" : "Predicting…");
  try {
    await embed(m);
    await loadDecoder(m);
    const columns = await runNext(m, names, { context: contextItems(), k: Number($<HTMLSelectElement>("k").value), decode: decode() });
    renderResults(columns, (r) => {
      chain.push({ text: r.text, row: r.row });
      renderChain();
      void predict();
    });
    setStatus(`Ran ${where(m)}: ${columns.map((c) => `${c.name} on ${c.backend} in ${c.ms.toFixed(1)} ms`).join("; ")}.`);
  } catch (error) {
    setStatus(`Failed: ${(error as Error).message}`);
  }
}

async function generate() {
  const names = ready();
  if (!names) return;
  const m = mode();
  setStatus(`Generating with ${names[0]}…`);
  try {
    await embed(m);
    await loadDecoder(m);
    const result = await runGenerate(m, names[0], { context: contextItems(), steps: 5, decode: decode() });
    chain.push(...result.steps.map((s) => ({ text: s.text, row: s.row })));
    renderChain();
    if (result.steps.some((s) => s.generated)) renderGenerated(names[0], result.steps);
    setStatus(`Generated ${result.steps.length} concepts with ${names[0]} ${where(m)} (stopped: ${result.stopped}).`);
  } catch (error) {
    setStatus(`Failed: ${(error as Error).message}`);
  }
}

$("article").addEventListener("change", () => void pickArticle());
$("split").addEventListener("click", splitPassage);
$("reset").addEventListener("click", () => {
  chain.length = 0;
  renderChain();
  $("results").replaceChildren();
});
for (const radio of document.querySelectorAll('input[name="mode"]')) radio.addEventListener("change", updateDecodeControl);
$("predict").addEventListener("click", () => void predict());
$("generate").addEventListener("click", () => void generate());
await Promise.all([loadModelsList(), loadArticles(), loadReport(), loadMetrics(), loadDecoderAvailability()]);
setInterval(() => void loadMetrics(), 5000);
document.body.dataset.ready = "true";
