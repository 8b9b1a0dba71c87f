/**
 * Corpus lines → documents of concept texts. Two line shapes are accepted:
 *   {"id": "12", "title": "Anarchism", "paragraphs": ["...", "..."]}   (the shared wiki format)
 *   {"id": "doc-1", "title": "Notes", "text": "para one...\n\npara two..."}
 * `text` is split into paragraphs on blank lines (lines inside a paragraph are joined), or on single
 * newlines when it has no blank line. Units are paragraphs, or groups of N sentences within a paragraph.
 * Each line is checked against CorpusLineSchema; errors name the line and the field.
 */
import { z } from "zod";
import { describeIssue } from "../validate/parse-file.ts";

const ID_EXPECTED = "expected a non-empty string or a number";
export type Unit = { kind: "paragraph" } | { kind: "sentences"; n: number };

export interface CorpusDocument {
  id: string;
  title: string;
  units: string[];
}

export class CorpusLineError extends Error {
  override name = "CorpusLineError";
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

export function parseUnit(spec: string): Unit {
  if (spec === "paragraph") return { kind: "paragraph" };
  const m = /^sentences:(\d+)$/.exec(spec);
  if (m && Number(m[1]) >= 1) return { kind: "sentences", n: Number(m[1]) };
  throw new Error(`--unit must be 'paragraph' or 'sentences:N' with N >= 1, got '${spec}'`);
}

const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

function sentenceGroups(paragraph: string, n: number): string[] {
  const sentences = [...segmenter.segment(paragraph)].map((s) => s.segment.trim()).filter((s) => s.length > 0);
  const groups: string[] = [];
  for (let i = 0; i < sentences.length; i += n) groups.push(sentences.slice(i, i + n).join(" "));
  return groups;
}

export function splitText(text: string): string[] {
  const normalized = text.replace(/\r\n?/g, "\n").trim();
  const blocks = /\n[ \t]*\n/.test(normalized)
    ? normalized.split(/\n[ \t]*\n+/).map((b) => b.replace(/\s*\n\s*/g, " "))
    : normalized.split("\n");
  return blocks.map((b) => b.trim()).filter((b) => b.length > 0);
}

/** One corpus line (either shape); `paragraphs` items are trimmed and must not be empty. */
export const CorpusLineSchema = z.object(
  {
    id: z.union([z.string().min(1, { error: ID_EXPECTED }), z.number().finite()], { error: ID_EXPECTED }),
    title: z.string().optional(),
    paragraphs: z.array(z.string().trim().min(1, { error: "expected a non-empty string" })).optional(),
    text: z.string().optional(),
  },
  { error: 'expected a JSON object {"id", "title", "paragraphs": [string]} or {"id", "title", "text": string}' },
);

/** Parses one non-blank corpus line; throws CorpusLineError naming the line and the field ("line 9: paragraphs.1: ..."). */
export function parseCorpusLine(line: string, lineNumber: number, unit: Unit): CorpusDocument {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CorpusLineError(lineNumber, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = CorpusLineSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error);
    throw new CorpusLineError(lineNumber, field ? `${field}: ${message}` : message);
  }
  const { id, title, text } = parsed.data;
  let paragraphs: string[];
  if (parsed.data.paragraphs !== undefined) paragraphs = parsed.data.paragraphs;
  else if (text !== undefined) paragraphs = splitText(text);
  else throw new CorpusLineError(lineNumber, 'missing field "paragraphs" (array of strings) or "text" (string)');
  const units = unit.kind === "paragraph" ? paragraphs : paragraphs.flatMap((p) => sentenceGroups(p, unit.n));
  if (units.length === 0) throw new CorpusLineError(lineNumber, "document has no text");
  return { id: String(id), title: title ?? String(id), units };
}
