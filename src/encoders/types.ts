/** A sentence encoder: text in, one unit-length row of `dim` float32 values per text out. */
export interface Encoder {
  /** Recorded in every store built with this encoder; stores refuse vectors from another id. */
  readonly id: string;
  readonly dim: number;
  /** Rows are returned flat and row-major: texts.length x dim. */
  embed(texts: readonly string[]): Promise<Float32Array>;
  dispose?(): void;
}
