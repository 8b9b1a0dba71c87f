/**
 * The concept store as the sharded Worker sees it: the manifest's count and encoder, the whole document list (small:
 * one line per document), and the rows the shards have sent (RowCache) — never all rows. The prediction service and
 * the API read rows they were just given by a search, or that the Worker fetched before the request ran (the `{row}`
 * context items, /v1/concepts/{row}, /v1/documents/{index}); any other row is a clear 503, not a wrong answer.
 * Text context items are not looked up among stored texts: this Worker has no encoder, so they are refused anyway.
 */
import { RequestError } from "../predict/errors.ts";
import { ConceptStore } from "../store/concept-store.ts";
import { type DocumentEntry, STORE_FORMAT, STORE_VERSION } from "../store/format.ts";
import type { CachedRow, RowCache } from "./fanout.ts";
import type { ShardManifest } from "./format.ts";
import { unitVectorOf } from "./shard-searcher.ts";

export class ShardedStore extends ConceptStore {
  readonly #cache: RowCache;
  readonly #count: number;

  constructor(manifest: ShardManifest, documents: DocumentEntry[], cache: RowCache) {
    super({
      manifest: {
        format: STORE_FORMAT,
        version: STORE_VERSION,
        encoder: manifest.encoder,
        count: 0,
        documents: documents.length,
        textBytes: 0,
        documentBytes: 0,
        updatedAt: manifest.createdAt,
      },
      documents,
      texts: new Uint8Array(0),
      rows: new Uint32Array(0),
      vectors: new Float32Array(0),
      int8: new Int8Array(0),
      scales: new Float32Array(0),
    });
    this.#cache = cache;
    this.#count = manifest.count;
    // The base class's count is a plain field set to 0 above; the store's real count is the manifest's.
    Object.defineProperty(this, "count", { value: manifest.count, enumerable: true });
  }

  #row(row: number): CachedRow {
    const hit = this.#cache.get(row);
    if (!hit)
      throw new RequestError(503, "shard_unavailable", `row ${row} could not be fetched from its shard (0..${this.#count - 1} are served)`);
    return hit;
  }

  override vector(row: number): Float32Array {
    const r = this.#row(row);
    return unitVectorOf(r.int8, r.scale);
  }

  /** A row's text; "" for a row not fetched (only the stored-text lookup of text context items reads those). */
  override text(row: number): string {
    return this.#cache.get(row)?.text ?? "";
  }

  override documentIndex(row: number): number {
    return this.#row(row).document;
  }

  override position(row: number): number {
    return this.#row(row).position;
  }
}
