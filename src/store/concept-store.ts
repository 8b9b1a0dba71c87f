import { committedLengths, type DocumentEntry, type EncoderRef, ROW_FIELDS, type StoreManifest } from "./format.ts";

export interface ConceptStoreData {
  manifest: StoreManifest;
  documents: DocumentEntry[];
  texts: Uint8Array;
  rows: Uint32Array;
  vectors: Float32Array;
  int8: Int8Array;
  scales: Float32Array;
}

export interface Concept {
  row: number;
  text: string;
  documentId: string;
  title: string;
  position: number;
}

/** A loaded, read-only concept store (runtime-agnostic: the bytes come from a runtime adapter). */
export class ConceptStore {
  readonly encoder: EncoderRef;
  readonly dim: number;
  readonly count: number;
  readonly documents: DocumentEntry[];
  readonly vectors: Float32Array;
  readonly int8: Int8Array;
  readonly scales: Float32Array;
  private readonly texts: Uint8Array;
  private readonly rows: Uint32Array;
  private readonly decoder = new TextDecoder();

  constructor(data: ConceptStoreData) {
    this.encoder = data.manifest.encoder;
    this.dim = data.manifest.encoder.dim;
    this.count = data.manifest.count;
    this.documents = data.documents;
    this.texts = data.texts;
    this.rows = data.rows;
    this.vectors = data.vectors;
    this.int8 = data.int8;
    this.scales = data.scales;
    const expected = committedLengths(data.manifest);
    if (
      this.rows.length * 4 !== expected.rows ||
      this.vectors.length * 4 !== expected.vectors ||
      this.scales.length * 4 !== expected.scales
    ) {
      throw new Error("concept store arrays do not match the manifest's count and dim");
    }
  }

  vector(row: number): Float32Array {
    return this.vectors.subarray(row * this.dim, (row + 1) * this.dim);
  }

  text(row: number): string {
    const offset = this.rows[row * ROW_FIELDS];
    const length = this.rows[row * ROW_FIELDS + 1];
    return this.decoder.decode(this.texts.subarray(offset, offset + length));
  }

  documentIndex(row: number): number {
    return this.rows[row * ROW_FIELDS + 2];
  }

  position(row: number): number {
    return this.rows[row * ROW_FIELDS + 3];
  }

  concept(row: number): Concept {
    if (!Number.isInteger(row) || row < 0 || row >= this.count)
      throw new RangeError(`row ${row} is outside the store (0..${this.count - 1})`);
    const doc = this.documents[this.documentIndex(row)];
    return { row, text: this.text(row), documentId: doc.id, title: doc.title, position: this.position(row) };
  }
}
