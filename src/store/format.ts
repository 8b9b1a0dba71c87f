/**
 * Concept store layout (one directory, all numbers little-endian):
 *
 *   store.json      manifest and commit point: format, encoder {id, dim}, committed lengths
 *   documents.jsonl one line per document: {"id","title","first","count"} (rows first..first+count-1)
 *   texts.utf8      concept texts, concatenated
 *   rows.u32        per concept 4 x uint32: text byte offset, text byte length, document index, position
 *   vectors.f32     count x dim float32, unit length
 *   vectors.i8      count x dim int8 (per-row symmetric quantisation)
 *   scales.f32      count float32: vectors.f32[r] ~= vectors.i8[r] * scales.f32[r]
 *
 * Every file loads with one read; no per-row parsing. Bytes past the manifest's lengths are an
 * interrupted append and are discarded on open. store.json and each documents.jsonl line are checked
 * against the zod schemas below (errors name the file, line and field).
 */
import { z } from "zod";
import { nonEmptyString, nonNegativeInt, parseJsonFile, positiveInt } from "../validate/parse-file.ts";

export const STORE_FORMAT = "lvm-edge-store";
export const STORE_VERSION = 1;
export const ROW_FIELDS = 4;

export const FILES = {
  manifest: "store.json",
  documents: "documents.jsonl",
  texts: "texts.utf8",
  rows: "rows.u32",
  vectors: "vectors.f32",
  int8: "vectors.i8",
  scales: "scales.f32",
} as const;

/**
 * The names under which the store's files travel to the page (GET /v1/bundle/store/<name>) and into the
 * Worker (worker-assets/): the committed part of each file; INT8 vectors and scales, no float32 vectors.
 */
export const BUNDLE_FILES = {
  manifest: "store.json",
  documents: "documents.jsonl",
  texts: "texts.bin",
  rows: "rows.bin",
  int8: "vectors-i8.bin",
  scales: "scales.bin",
} as const satisfies Partial<Record<keyof typeof FILES, string>>;

/** A store file that travels in the bundle, and its bundle name. */
export type BundleFile = keyof typeof BUNDLE_FILES;
export type BundleFileName = (typeof BUNDLE_FILES)[BundleFile];

/** store.json, validated on load (parseManifest). */
export const StoreManifestSchema = z.object({
  format: z.literal(STORE_FORMAT, { error: `expected "${STORE_FORMAT}" (not a concept store)` }),
  version: z.literal(STORE_VERSION, { error: `expected store version ${STORE_VERSION} (the only one this build reads)` }),
  encoder: z.object({ id: nonEmptyString(), dim: positiveInt() }),
  /** Committed concepts (rows). */
  count: nonNegativeInt(),
  /** Committed documents. */
  documents: nonNegativeInt(),
  /** Committed byte lengths of the two variable-length files. */
  textBytes: nonNegativeInt(),
  documentBytes: nonNegativeInt(),
  updatedAt: z.string(),
});

/** One line of documents.jsonl; its rows are first..first+count-1, contiguous, in document order. */
export const DocumentEntrySchema = z.object({
  id: z.string(),
  title: z.string(),
  first: nonNegativeInt(),
  count: nonNegativeInt(),
});

export type StoreManifest = z.infer<typeof StoreManifestSchema>;
export type EncoderRef = StoreManifest["encoder"];
export type DocumentEntry = z.infer<typeof DocumentEntrySchema>;

/** Byte length each file must have for a manifest. */
export function committedLengths(m: StoreManifest): Record<Exclude<keyof typeof FILES, "manifest">, number> {
  return {
    documents: m.documentBytes,
    texts: m.textBytes,
    rows: m.count * ROW_FIELDS * 4,
    vectors: m.count * m.encoder.dim * 4,
    int8: m.count * m.encoder.dim,
    scales: m.count * 4,
  };
}

export class StoreError extends Error {
  override name = "StoreError";
}

/** store.json text → manifest; `where` names the file in errors ("store.json: count: expected ..."). */
export function parseManifest(json: string, where: string): StoreManifest {
  return parseJsonFile(StoreManifestSchema, json, where, (m) => new StoreError(m));
}

/** Refuses a store/encoder pairing whose vectors would not be comparable. */
export function assertSameEncoder(store: EncoderRef, other: EncoderRef, what: string): void {
  if (store.id !== other.id || store.dim !== other.dim) {
    throw new StoreError(
      `store was built with encoder '${store.id}' (dim ${store.dim}); ${what} uses encoder '${other.id}' (dim ${other.dim}). ` +
        "Vectors of different encoders are not comparable: use a separate store.",
    );
  }
}

/** documents.jsonl (committed part) → entries; one JSON parse per document, none per row. */
export function parseDocuments(text: string, where: string): DocumentEntry[] {
  if (text.length === 0) return [];
  return text
    .trimEnd()
    .split("\n")
    .map((line, i) => parseJsonFile(DocumentEntrySchema, line, { file: where, line: i + 1 }, (m) => new StoreError(m)));
}
