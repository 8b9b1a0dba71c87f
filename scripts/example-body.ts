// Prints a /v1/next request body whose context is five demo concepts as base64 float32 vectors ({b64}, for
// vector-only deployments such as the Worker; --numbers for JSON numbers, ~4x larger):
//   node scripts/example-body.ts [firstRow] [--numbers] | curl -d @- ...
import { readFileSync } from "node:fs";
import { encodeVectorB64 } from "../src/predict/vector-b64.ts";

const args = process.argv.slice(2);
const first = Number(args.find((a) => !a.startsWith("--")) ?? 0);
const numbers = args.includes("--numbers");
const bytes = readFileSync(new URL("../demo/vectors.use-lite-512.f32", import.meta.url));
const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
const context = [0, 1, 2, 3, 4].map((i) => {
  const v = vectors.subarray((first + i) * 512, (first + i + 1) * 512);
  return numbers ? Array.from(v) : encodeVectorB64(v);
});
process.stdout.write(JSON.stringify({ context, k: 3 }));
