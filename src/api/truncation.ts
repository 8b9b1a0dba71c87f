// Which request texts the encoder read only the beginning of (its 128-token limit, src/encoders/use-lite-core.ts):
// the responses say so in `truncated` instead of embedding a cut text silently.
import { pickModel } from "../predict/pick.ts";
import type { ContextItem, PredictDeps } from "../predict/types.ts";

/**
 * Indices of `texts` the encoder cuts, or undefined when none is (or the encoder cannot tell). Runs after the
 * service, so a refused request never loads the encoder; each text is read again only up to the encoder's limit.
 */
export async function truncatedTexts(deps: PredictDeps, texts: readonly (string | undefined)[]): Promise<number[] | undefined> {
  if (!deps.encoder || !texts.some((t) => typeof t === "string")) return undefined;
  const encoder = await deps.encoder();
  if (!encoder.truncates) return undefined;
  const cut: number[] = [];
  texts.forEach((text, i) => {
    if (typeof text === "string" && encoder.truncates!(text)) cut.push(i);
  });
  return cut.length > 0 ? cut : undefined;
}

/** The same for a context: only the items the model reads (its last `context`), as indices into the request's context. */
export async function truncatedContext(deps: PredictDeps, items: readonly ContextItem[], model?: string): Promise<number[] | undefined> {
  const first = Math.max(0, items.length - pickModel(deps, model).context);
  return truncatedTexts(
    deps,
    items.map((item, i) => (i >= first && typeof item === "string" ? item : undefined)),
  );
}
