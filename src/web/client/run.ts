// Step 3: run the selected models, on the server (POST /v1/next, /v1/generate) or in this browser (the
// same prediction service over the downloaded store): both send the same request, so they agree.
import { generateChain } from "../../predict/generate.ts";
import { nextConcepts } from "../../predict/next.ts";
import type { GeneratedText, GenerateResult, NextRequest } from "../../predict/types.ts";
import { client, unwrap } from "./api.ts";
import { type BrowserEngine, browserEngine, ensureModel } from "./browser-engine.ts";
import { embedContext } from "./chain.ts";
import { pageDecoder } from "./page-decoder.ts";

export type Mode = "server" | "browser";

export interface Column {
  name: string;
  backend: string;
  ms: number;
  results: { row: number; text: string; title: string; score: number }[];
  /** Text the decoder (the server's, or this page's in browser mode) wrote for the predicted vector (with decode). */
  generated?: GeneratedText;
}

/**
 * Embeds the context's typed texts where `mode` runs: one POST /v1/embed on the server, or this page's encoder
 * (USE-lite INT8 on the WASM core, page-encoder.ts) in the browser, which never calls /v1/embed.
 */
export async function embedTyped(mode: Mode): Promise<void> {
  if (mode === "server") {
    return embedContext(mode, async (texts) => {
      const res = await client.v1.embed.$post({ json: { texts } });
      if (!res.ok) return undefined;
      return (await res.json()).vectors.map((v) => Float32Array.from(v));
    });
  }
  const e = await browserEngine();
  const encoder = e.deps.encoder;
  if (!encoder) return; // a store from another encoder: the texts go as texts and the service says why
  return embedContext(mode, async (texts) => {
    const rows = await (await encoder()).embed(texts);
    const dim = e.deps.store.dim;
    return texts.map((_, i) => rows.slice(i * dim, (i + 1) * dim));
  });
}

// Both modes search every row (the browser has no approximate index), so their results can be compared.
const EXACT = true;

/**
 * The engine's deps with this page's decoder where `decode` asks for text (page-decoder.ts: downloaded on the first
 * such request), and whether to decode: not where the deployment has no decoder (the page says so, main.ts).
 * The prediction service then decodes with the server's default refinement options, as the server does.
 */
async function withDecoder(e: BrowserEngine, decode: boolean | undefined) {
  const decoder = decode ? await pageDecoder(e.core) : undefined;
  return { deps: decoder ? { ...e.deps, decoder: async () => decoder } : e.deps, decode: decoder !== undefined };
}

// `decode` (text from the predicted vector) runs where the prediction does: the server's decoder, or this page's.
export async function runNext(
  mode: Mode,
  names: string[],
  request: Omit<NextRequest, "model" | "exact" | "decodeOptions">,
): Promise<Column[]> {
  if (mode === "server") {
    return Promise.all(
      names.map(async (name) => {
        const started = performance.now();
        const body = await unwrap(client.v1.next.$post({ json: { ...request, model: name, exact: EXACT } }));
        return {
          name,
          backend: `server ${body.backend}`,
          ms: performance.now() - started,
          results: body.results,
          generated: body.generated,
        };
      }),
    );
  }
  const e = await browserEngine();
  const { deps, decode } = await withDecoder(e, request.decode);
  const columns: Column[] = [];
  for (const name of names) {
    await ensureModel(e, name);
    const started = performance.now();
    const result = await nextConcepts(deps, { ...request, decode, model: name, exact: EXACT });
    columns.push({ name, backend: result.backend, ms: performance.now() - started, results: result.results, generated: result.generated });
  }
  return columns;
}

export async function runGenerate(
  mode: Mode,
  name: string,
  request: { context: NextRequest["context"]; steps: number; decode?: boolean },
): Promise<Pick<GenerateResult, "backend" | "stopped"> & { steps: { row: number; text: string; generated?: GeneratedText }[] }> {
  if (mode === "server") return unwrap(client.v1.generate.$post({ json: { ...request, model: name, exact: EXACT } }));
  const e = await browserEngine();
  const { deps, decode } = await withDecoder(e, request.decode);
  await ensureModel(e, name);
  return generateChain(deps, { ...request, decode, model: name, exact: EXACT, stopCosine: 0.9 });
}
