// Builds public/: the web page (index.html, style.css), its script bundled by esbuild (app.js), the WASM
// core (core.wasm) and the shipped evaluation reports (reports/). Served by the Node server and, as
// Workers Static Assets, by the Worker. Run by `npm run build` (so by npm install).
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "public");

export async function buildWeb(): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(join(out, "reports"), { recursive: true });
  await build({
    entryPoints: [join(root, "src/web/client/main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    outfile: join(out, "app.js"),
    logLevel: "warning",
  });
  await copyFile(join(root, "src/web/index.html"), join(out, "index.html"));
  await copyFile(join(root, "src/web/style.css"), join(out, "style.css"));
  await copyFile(join(root, "wasm/build/core.wasm"), join(out, "core.wasm"));
  await copyFile(join(root, "wasm/build/core-relaxed.wasm"), join(out, "core-relaxed.wasm"));
  // USE-lite's INT8 edge weights: the page's in-browser encoder and the Worker's (read through its ASSETS binding).
  await copyFile(join(root, "wasm/build/use-lite-int8-edge.bin"), join(out, "use-lite-int8-edge.bin"));
  // The vector-to-text decoder, when build-worker-assets.ts staged one: its weights (the Worker reads them through
  // ASSETS) and both files for the page's in-browser decoder (client/page-decoder.ts).
  const staged = join(root, "worker-assets/decoder");
  if (existsSync(join(staged, "weights.bin"))) {
    await mkdir(join(out, "decoder"));
    for (const f of ["model.json", "weights.bin"]) await copyFile(join(staged, f), join(out, "decoder", f));
  }
  // Evaluation reports shipped in models/reports: SVG plots and the Markdown report.
  const reportsDir = join(root, "models/reports");
  const files = await readdir(reportsDir).catch(() => [] as string[]);
  const images: string[] = [];
  let markdown: string | undefined;
  for (const f of files.sort()) {
    if (!/\.(svg|md|json)$/.test(f)) continue;
    await copyFile(join(reportsDir, f), join(out, "reports", f));
    if (f.endsWith(".svg")) images.push(`/reports/${f}`);
    if (f.endsWith(".md") && !markdown) markdown = `/reports/${f}`;
  }
  const reports = images.length > 0 || markdown ? [{ title: "LVMs on dev1k (test split, context excluded)", images, markdown }] : [];
  await writeFile(join(out, "reports", "index.json"), JSON.stringify({ reports }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildWeb();
  console.log(`public/: page, app.js, core.wasm and reports written`);
}
