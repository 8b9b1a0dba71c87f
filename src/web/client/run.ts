// Step 3: run the selected models, on the server (POST /v1/next, /v1/generate) or in this browser (the
// same prediction service over the downloaded store): both send the same request, so they agree.
import { generateChain } from "../../predict/generate.ts";
import { nextConcepts } from "../../predict/next.ts";
import type { GeneratedText, GenerateResult, NextRequest } from "../../predict/types.ts";
import { client, unwrap } from "./api.ts";
import { browserEngine, ensureModel } from "./browser-engine.ts";
import { embedContext } from "./chain.ts";

export type Mode = "server" | "browser";

export interface Column {
  name: string;
  backend: string;
  ms: number;
  results: { row: number; text: string; title: string; score: number }[];
  /** Text the server's decoder wrote for the predicted vector (with decode). */
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

// `decode` (text from the predicted vector) runs on the server only: the page does not download the decoder.
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
  if (request.decode) throw new Error("generating text runs on the server only");
  const e = await browserEngine();
  const columns: Column[] = [];
  for (const name of names) {
    await ensureModel(e, name);
    const started = performance.now();
    const result = await nextConcepts(e.deps, { ...request, model: name, exact: EXACT });
    columns.push({ name, backend: result.backend, ms: performance.now() - started, results: result.results });
  }
  return columns;
}

export async function runGenerate(
  mode: Mode,
  name: string,
  request: { context: NextRequest["context"]; steps: number; decode?: boolean },
): Promise<Pick<GenerateResult, "backend" | "stopped"> & { steps: { row: number; text: string; generated?: GeneratedText }[] }> {
  if (mode === "server") return unwrap(client.v1.generate.$post({ json: { ...request, model: name, exact: EXACT } }));
  if (request.decode) throw new Error("generating text runs on the server only");
  const e = await browserEngine();
  await ensureModel(e, name);
  return generateChain(e.deps, { ...request, model: name, exact: EXACT, stopCosine: 0.9 });
}
