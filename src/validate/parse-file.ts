// Files we read are checked against a zod schema; the first problem becomes one error naming the file, the
// line (JSON Lines), the field as a dotted path (as the API names request fields, e.g. "encoder.dim" or
// "tensors.3.shape.0"), what was expected and what was found:
//   store.json: encoder.dim: expected a positive integer, got "512"
import { type ZodType, z } from "zod";

/** Where a value was read from: a file name, and the 1-based line for JSON Lines files. */
export interface FileLocation {
  file: string;
  line?: number;
}

type MakeError = (message: string) => Error;

/** The first zod issue as {field, message}: "encoder.dim", 'expected a positive integer, got "512"'. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue.path.map(String).join(".");
  const input = issueInput(issue);
  const got = input === undefined ? "got nothing (field missing)" : `got ${show(input)}`;
  return { field, message: `${expected(issue)}, ${got}` };
}

/** The message for a location and a zod error: "<file>[:<line>]: <field>: expected ..., got ...". */
export function fileIssueMessage(where: FileLocation | string, error: z.ZodError): string {
  const { field, message } = describeIssue(error);
  return `${locate(where)}: ${field ? `${field}: ` : ""}${message}`;
}

/** Validates an already parsed value; throws `makeError(message)` (default Error) naming the first problem. */
export function validateFile<T>(
  schema: ZodType<T>,
  value: unknown,
  where: FileLocation | string,
  makeError: MakeError = (m) => new Error(m),
): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw makeError(fileIssueMessage(where, result.error));
}

/** JSON.parse then validateFile; invalid JSON gives "<file>[:<line>]: not valid JSON (...)". */
export function parseJsonFile<T>(
  schema: ZodType<T>,
  text: string,
  where: FileLocation | string,
  makeError: MakeError = (m) => new Error(m),
): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw makeError(`${locate(where)}: not valid JSON (${(error as Error).message})`);
  }
  return validateFile(schema, value, where, makeError);
}

// Field schemas with the messages the formats share.
export const positiveInt = () => z.int({ error: "expected a positive integer" }).min(1, { error: "expected a positive integer" });
export const nonNegativeInt = () =>
  z.int({ error: "expected a non-negative integer" }).min(0, { error: "expected a non-negative integer" });
export const nonEmptyString = () => z.string({ error: "expected a non-empty string" }).min(1, { error: "expected a non-empty string" });

type Discriminated = { discriminator?: string; options?: unknown[] };

function issueInput(issue: z.core.$ZodIssue): unknown {
  if (issue.code !== "invalid_union") return issue.input;
  // A discriminated union reports the whole object; a plain union the input on its branches' issues only.
  const { discriminator } = issue as Discriminated;
  if (discriminator !== undefined) return (issue.input as Record<string, unknown> | undefined)?.[discriminator];
  return issue.input ?? issue.errors[0]?.[0]?.input;
}

function locate(where: FileLocation | string): string {
  if (typeof where === "string") return where;
  return where.line === undefined ? where.file : `${where.file}:${where.line}`;
}

function expected(issue: z.core.$ZodIssue): string {
  if (issue.message.startsWith("expected ")) return issue.message; // a message given in the schema
  switch (issue.code) {
    case "invalid_type":
      return `expected ${article(issue.expected)}`;
    case "invalid_union": {
      const { options } = issue as Discriminated;
      return options ? `expected ${options.map((v) => JSON.stringify(v)).join(" or ")}` : issue.message;
    }
    case "invalid_value":
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const op = issue.code === "too_small" ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
      if (issue.origin === "array") return `expected ${issue.code === "too_small" ? "at least" : "at most"} ${bound} items`;
      if (issue.origin === "string") return `expected ${issue.code === "too_small" ? "at least" : "at most"} ${bound} characters`;
      return `expected a number ${op} ${bound}`;
    }
    case "unrecognized_keys":
      return `unexpected field ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

function article(type: string): string {
  if (type === "int") return "an integer";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 40 ? `${s.slice(0, 37)}..."` : s;
}
