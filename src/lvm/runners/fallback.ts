// A runner that moves to a fallback runner (the core) the first time its primary (a GPU) fails, so a GPU that
// disappears mid-run costs one warning, never a failed request. Runtime-agnostic.
import { checkContexts, type LvmRunner, type RunnerShape } from "./types.ts";

/** First line of an error, shortened: onnxruntime's messages carry source paths and stack lines. */
export function oneLine(error: unknown, max = 240): string {
  const text = (error instanceof Error ? error.message : String(error)).split("\n")[0].trim();
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export class FallbackRunner implements LvmRunner {
  private primary: LvmRunner | undefined;
  private fallback: Promise<LvmRunner> | undefined;
  private current: string;
  private readonly shape: RunnerShape;
  private readonly makeFallback: () => Promise<LvmRunner>;
  private readonly onWarning: (message: string) => void;
  /** The warning given when the primary failed, once it has. */
  warning: string | undefined;

  constructor(
    primary: LvmRunner,
    shape: RunnerShape,
    makeFallback: () => Promise<LvmRunner>,
    onWarning: (message: string) => void = () => {},
  ) {
    this.primary = primary;
    this.current = primary.id;
    this.shape = shape;
    this.makeFallback = makeFallback;
    this.onWarning = onWarning;
  }

  /** The id of the runner that answers now (the primary's until it fails). */
  get id(): string {
    return this.current;
  }

  async forward(contexts: Float32Array, batch: number): Promise<Float32Array> {
    // Bad input is the caller's error, not the GPU's: it must not trigger the fallback.
    checkContexts(contexts, batch, this.shape);
    const primary = this.primary;
    if (primary) {
      try {
        return await primary.forward(contexts, batch);
      } catch (error) {
        if (this.primary === primary) {
          this.primary = undefined;
          this.fallback = this.makeFallback();
          const runner = await this.fallback;
          this.warning = `${primary.id} failed (${oneLine(error)}); running on ${runner.id} from now on`;
          this.current = runner.id;
          this.onWarning(this.warning);
          try {
            primary.dispose();
          } catch {
            // a dead device may not release cleanly
          }
        }
      }
    }
    // Set above, by this call or a concurrent one whose primary failed first.
    return (await (this.fallback as Promise<LvmRunner>)).forward(contexts, batch);
  }

  dispose(): void {
    this.primary?.dispose();
    void this.fallback?.then((r) => r.dispose());
  }
}
