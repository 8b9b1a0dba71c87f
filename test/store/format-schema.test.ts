import { describe, expect, it } from "vitest";
import { parseDocuments, parseManifest, StoreError } from "../../src/store/format.ts";

const manifest = {
  format: "lvm-edge-store",
  version: 1,
  encoder: { id: "use-lite", dim: 512 },
  count: 10,
  documents: 2,
  textBytes: 100,
  documentBytes: 80,
  updatedAt: "2026-01-01T00:00:00.000Z",
};
const broken = (patch: (m: Record<string, unknown>) => void) => {
  const m = structuredClone(manifest) as Record<string, unknown>;
  patch(m);
  return JSON.stringify(m);
};

describe("store.json schema", () => {
  it("accepts a valid manifest", () => {
    expect(parseManifest(JSON.stringify(manifest), "store.json")).toEqual(manifest);
  });

  it.each([
    [
      (m: Record<string, unknown>) => ((m.encoder as { dim: unknown }).dim = "512"),
      'store.json: encoder.dim: expected a positive integer, got "512"',
    ],
    [
      (m: Record<string, unknown>) => ((m.encoder as { dim: unknown }).dim = 0),
      "store.json: encoder.dim: expected a positive integer, got 0",
    ],
    [
      (m: Record<string, unknown>) => delete (m.encoder as { id?: unknown }).id,
      "store.json: encoder.id: expected a non-empty string, got nothing (field missing)",
    ],
    [(m: Record<string, unknown>) => (m.count = -1), "store.json: count: expected a non-negative integer, got -1"],
    [(m: Record<string, unknown>) => (m.textBytes = 1.5), "store.json: textBytes: expected a non-negative integer, got 1.5"],
    [
      (m: Record<string, unknown>) => (m.format = "other"),
      'store.json: format: expected "lvm-edge-store" (not a concept store), got "other"',
    ],
    [
      (m: Record<string, unknown>) => (m.version = 2),
      "store.json: version: expected store version 1 (the only one this build reads), got 2",
    ],
  ])("names the broken field (%#)", (patch, message) => {
    expect(() => parseManifest(broken(patch), "store.json")).toThrow(new StoreError(message));
  });

  it("names invalid JSON", () => {
    expect(() => parseManifest("{", "/s/store.json")).toThrow(/^\/s\/store\.json: not valid JSON \(/);
    expect(() => parseManifest("[]", "store.json")).toThrow("store.json: expected an object, got an array of 0");
  });
});

describe("documents.jsonl schema", () => {
  const line = (d: object) => JSON.stringify({ id: "a", title: "A", first: 0, count: 2, ...d });
  it("parses one entry per line", () => {
    expect(parseDocuments(`${line({})}\n${line({ id: "b", first: 2 })}\n`, "documents.jsonl").map((d) => d.id)).toEqual(["a", "b"]);
  });
  it("names the line and the field", () => {
    expect(() => parseDocuments(`${line({})}\n${line({ first: "2" })}\n`, "documents.jsonl")).toThrow(
      'documents.jsonl:2: first: expected a non-negative integer, got "2"',
    );
    expect(() => parseDocuments(`${line({})}\n{oops\n`, "documents.jsonl")).toThrow(/^documents\.jsonl:2: not valid JSON/);
    expect(() => parseDocuments(line({ title: null }), "documents.jsonl")).toThrow("documents.jsonl:1: title: expected a string, got null");
  });
});
