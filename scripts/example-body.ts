// Prints a /v1/next request body whose context is five demo concepts as vectors (for vector-only
// deployments such as the Worker):  node scripts/example-body.ts [firstRow] | curl -d @- ...
import { readFileSync } from "node:fs";

const first = Number(process.argv[2] ?? 0);
const bytes = readFileSync(new URL("../demo/vectors.use-lite-512.f32", import.meta.url));
const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
const context = [0, 1, 2, 3, 4].map((i) => Array.from(vectors.subarray((first + i) * 512, (first + i + 1) * 512)));
process.stdout.write(JSON.stringify({ context, k: 3 }));
