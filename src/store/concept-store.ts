import {
  committedLengths,
  type DocumentEntry,
  type EncoderRef,
  parseDocuments,
  parseManifest,
  ROW_FIELDS,
  type StoreManifest,
} from "./format.ts";

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

/**
 * A store from the bytes of its files, where no file system exists (Workers, browsers). Without float32
 * vectors, they are rebuilt from the INT8 rows (cosine to the originals > 0.9999): the edge ships INT8 only.
 */
export function storeFromBytes(files: {
  manifest: string;
  documents: string;
  texts: ArrayBuffer;
  rows: ArrayBuffer;
  int8: ArrayBuffer;
  scales: ArrayBuffer;
  vectors?: ArrayBuffer;
}): ConceptStore {
  const manifest = parseManifest(files.manifest, "store.json");
  const lengths = committedLengths(manifest);
  const int8 = new Int8Array(files.int8, 0, lengths.int8);
  const scales = new Float32Array(files.scales, 0, manifest.count);
  let vectors: Float32Array;
  if (files.vectors) {
    vectors = new Float32Array(files.vectors, 0, lengths.vectors / 4);
  } else {
    const dim = manifest.encoder.dim;
    vectors = new Float32Array(manifest.count * dim);
    for (let r = 0; r < manifest.count; r++) {
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += (int8[r * dim + j] * scales[r]) ** 2;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = 0; j < dim; j++) vectors[r * dim + j] = int8[r * dim + j] * scales[r] * inv;
    }
  }
  return new ConceptStore({
    manifest,
    // The asset builder writes only committed bytes, so the whole text is the committed document list.
    documents: parseDocuments(files.documents, "documents.jsonl"),
    texts: new Uint8Array(files.texts, 0, lengths.texts),
    rows: new Uint32Array(files.rows, 0, lengths.rows / 4),
    vectors,
    int8,
    scales,
  });
}
