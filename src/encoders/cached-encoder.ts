/**
 * The embedding cache of a process or isolate: a size-bounded LRU of text -> vector in front of an Encoder
 * (lru-cache, bounded by entries and by bytes), plus the counters GET /v1/metrics reports. Runtime-agnostic
 * (lru-cache has no Node-only import: its browser build, which wrangler and the page's bundler pick, has
 * none at all), so Node, the Worker and the page each call createEmbeddingCache() once and wrap their encoder.
 *
 * Texts equal to a stored concept's text never reach it: the prediction service uses the stored vector
 * (src/predict/embed-texts.ts) and counts those as storedHits here. A client that slides its window (4 of 5
 * texts seen before) pays for one text: the 4 are lruHits, the new one a miss.
 */
import { LRUCache } from "lru-cache";
import type { Encoder } from "./types.ts";

export interface EmbeddingCacheOptions {
  /** Most texts held (default 4096; 0 disables the LRU, the counters still count). */
  maxEntries?: number;
  /** Most bytes held, counted as the vector's bytes + 2 per UTF-16 unit of the text + 64 (default 16 MiB). */
  maxBytes?: number;
}

export interface EmbeddingCacheStats {
  /** Texts equal to a stored concept's text: the stored vector was used, nothing embedded. */
  storedHits: number;
  /** Texts answered by the LRU. */
  lruHits: number;
  /** Texts the encoder embedded. */
  misses: number;
  entries: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
}

export const DEFAULT_CACHE_ENTRIES = 4096;
export const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
const ENTRY_OVERHEAD = 64;

export const entryBytes = (text: string, vector: Float32Array) => vector.byteLength + 2 * text.length + ENTRY_OVERHEAD;

export class EmbeddingCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly lru?: LRUCache<string, Float32Array>;
  private storedHits = 0;
  private lruHits = 0;
  private misses = 0;

  constructor(options: EmbeddingCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_CACHE_ENTRIES;
    this.maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 0)
      throw new Error(`embedding cache maxEntries must be an integer >= 0, got ${options.maxEntries}`);
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < 0)
      throw new Error(`embedding cache maxBytes must be an integer >= 0, got ${options.maxBytes}`);
    if (this.maxEntries > 0 && this.maxBytes > 0) {
      // A text larger than the whole budget is simply not kept (lru-cache's maxEntrySize defaults to maxSize).
      this.lru = new LRUCache({ max: this.maxEntries, maxSize: this.maxBytes, sizeCalculation: (v, k) => entryBytes(k, v) });
    }
  }

  /** `n` texts were answered by stored concepts' vectors (the caller's exact-text lookup). */
  countStoredHits(n: number): void {
    this.storedHits += n;
  }

  stats(): EmbeddingCacheStats {
    return {
      storedHits: this.storedHits,
      lruHits: this.lruHits,
      misses: this.misses,
      entries: this.lru?.size ?? 0,
      bytes: this.lru?.calculatedSize ?? 0,
      maxEntries: this.maxEntries,
      maxBytes: this.maxBytes,
    };
  }

  clear(): void {
    this.lru?.clear();
  }

  /**
   * `encoder` behind this cache: cached texts are copied out of the LRU, the others (each distinct text once)
   * go to the encoder in one call and are kept. Errors (an empty text) come from the encoder as before.
   */
  wrap(encoder: Encoder): Encoder {
    const cached: Encoder = {
      id: encoder.id,
      dim: encoder.dim,
      embed: (texts) => this.embed(encoder, texts),
      // Whether a text is cut is the encoder's to say, cached or not (responses list truncated items).
      ...(encoder.truncates ? { truncates: (text: string) => encoder.truncates!(text) } : {}),
      dispose: () => {
        this.lru?.clear();
        encoder.dispose?.();
      },
    };
    return cached;
  }

  private async embed(encoder: Encoder, texts: readonly string[]): Promise<Float32Array> {
    const dim = encoder.dim;
    const out = new Float32Array(texts.length * dim);
    const missing = new Map<string, number[]>(); // text -> its positions in `texts`
    texts.forEach((text, i) => {
      const hit = typeof text === "string" ? this.lru?.get(text) : undefined;
      if (hit) {
        out.set(hit, i * dim);
        this.lruHits++;
        return;
      }
      const at = missing.get(text);
      if (at) at.push(i);
      else missing.set(text, [i]);
    });
    if (missing.size === 0) return out;
    const misses = [...missing.keys()];
    const rows = await encoder.embed(misses);
    this.misses += misses.length;
    misses.forEach((text, j) => {
      const row = rows.subarray(j * dim, (j + 1) * dim);
      for (const i of missing.get(text)!) out.set(row, i * dim);
      this.lruHits += missing.get(text)!.length - 1; // repeats within the call
      this.lru?.set(text, row.slice());
    });
    return out;
  }
}

export function createEmbeddingCache(options?: EmbeddingCacheOptions): EmbeddingCache {
  return new EmbeddingCache(options);
}

/**
 * Options from settings strings (Node's process.env, a Worker's env bindings): LVM_EMBED_CACHE_ENTRIES and
 * LVM_EMBED_CACHE_MB (0 disables the LRU); a bad value is an error naming the setting.
 */
export function embeddingCacheOptions(env: Record<string, unknown>): EmbeddingCacheOptions {
  const number = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, got '${String(raw)}'`);
    return value;
  };
  const entries = number("LVM_EMBED_CACHE_ENTRIES");
  const mb = number("LVM_EMBED_CACHE_MB");
  return {
    maxEntries: entries === undefined ? undefined : Math.floor(entries),
    maxBytes: mb === undefined ? undefined : Math.floor(mb * 1024 * 1024),
  };
}
