/** A sentence encoder: text in, one row of `dim` float32 values per text out (unit length unless the encoder's
 * head says otherwise, e.g. GTR's vec2text head; stores normalise rows on ingest). */
export interface Encoder {
  /** Recorded in every store built with this encoder; stores refuse vectors from another id. */
  readonly id: string;
  readonly dim: number;
  /** Rows are returned flat and row-major: texts.length x dim. */
  embed(texts: readonly string[]): Promise<Float32Array>;
  /**
   * Optional: vectors only for comparing texts with one another, faster and slightly less exact than embed's (the
   * decoder ranks its candidates with them, then re-embeds its answer with embed).
   */
  embedForRanking?(texts: readonly string[]): Promise<Float32Array>;
  /** Whether the encoder reads only the beginning of `text` (past its token limit); absent where unknown. */
  truncates?(text: string): boolean;
  dispose?(): void;
}
