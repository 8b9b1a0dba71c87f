// Node adapter: the lines of a .jsonl or .jsonl.gz file, numbered from 1.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";

export async function* readLines(path: string): AsyncGenerator<{ line: string; lineNumber: number }> {
  const file = createReadStream(path);
  const input = path.endsWith(".gz") ? file.pipe(createGunzip()) : file;
  file.on("error", (error) => input.destroy(error));
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  for await (const line of lines) yield { line, lineNumber: ++lineNumber };
}
