/**
 * Corpus lines → documents of concept texts. Two line shapes are accepted:
 *   {"id": "12", "title": "Anarchism", "paragraphs": ["...", "..."]}   (the shared wiki format)
 *   {"id": "doc-1", "title": "Notes", "text": "para one...\n\npara two..."}
 * `text` is split into paragraphs on blank lines (lines inside a paragraph are joined), or on single
 * newlines when it has no blank line. Units are paragraphs, or groups of N sentences within a paragraph.
 */
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

/** Parses one non-blank corpus line; throws CorpusLineError naming the line and the field. */
export function parseCorpusLine(line: string, lineNumber: number, unit: Unit): CorpusDocument {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new CorpusLineError(lineNumber, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CorpusLineError(
      lineNumber,
      'expected a JSON object {"id", "title", "paragraphs": [string]} or {"id", "title", "text": string}',
    );
  }
  const record = value as Record<string, unknown>;
  const { id, title } = record;
  if (!((typeof id === "string" && id.length > 0) || (typeof id === "number" && Number.isFinite(id)))) {
    throw new CorpusLineError(lineNumber, `field "id" must be a non-empty string or a number, got ${describe(id)}`);
  }
  if (title !== undefined && typeof title !== "string")
    throw new CorpusLineError(lineNumber, `field "title" must be a string, got ${describe(title)}`);
  let paragraphs: string[];
  if (record.paragraphs !== undefined) {
    if (!Array.isArray(record.paragraphs))
      throw new CorpusLineError(lineNumber, `field "paragraphs" must be an array of strings, got ${describe(record.paragraphs)}`);
    paragraphs = record.paragraphs.map((p, i) => {
      if (typeof p !== "string") throw new CorpusLineError(lineNumber, `field "paragraphs" item ${i} must be a string, got ${describe(p)}`);
      if (p.trim().length === 0) throw new CorpusLineError(lineNumber, `field "paragraphs" item ${i} is empty`);
      return p.trim();
    });
  } else if (record.text !== undefined) {
    if (typeof record.text !== "string")
      throw new CorpusLineError(lineNumber, `field "text" must be a string, got ${describe(record.text)}`);
    paragraphs = splitText(record.text);
  } else {
    throw new CorpusLineError(lineNumber, 'missing field "paragraphs" (array of strings) or "text" (string)');
  }
  const units = unit.kind === "paragraph" ? paragraphs : paragraphs.flatMap((p) => sentenceGroups(p, unit.n));
  if (units.length === 0) throw new CorpusLineError(lineNumber, "document has no text");
  return { id: String(id), title: title ?? String(id), units };
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (field missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `a string "${value.slice(0, 20)}"` : `${typeof value} ${JSON.stringify(value)?.slice(0, 20)}`;
}
