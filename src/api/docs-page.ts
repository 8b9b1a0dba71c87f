import { html, raw } from "hono/html";
import type { OpenApiDocument } from "./openapi-document.ts";

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
}

/** A self-contained HTML rendering of the generated OpenAPI document (no external scripts or styles). */
export function docsPage(doc: OpenApiDocument) {
  const schemas = (doc.components?.schemas ?? {}) as Record<string, unknown>;
  const resolve = (schema: unknown) => {
    const ref = (schema as { $ref?: string } | undefined)?.$ref;
    return ref ? (schemas[ref.replace("#/components/schemas/", "")] ?? schema) : schema;
  };
  const endpoints = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods as Record<string, Operation>).map(([method, op]) => {
      const body = resolve(op.requestBody?.content?.["application/json"]?.schema);
      return html`<section id="${op.operationId ?? ""}">
        <h2><code>${method.toUpperCase()} ${path}</code></h2>
        <p><strong>${op.summary ?? ""}</strong> ${op.description ?? ""}</p>
        ${body ? html`<details><summary>request body schema</summary><pre>${JSON.stringify(body, null, 2)}</pre></details>` : ""}
      </section>`;
    }),
  );
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${doc.info.title} API</title>
<style>${raw("body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.75rem;overflow:auto}section{border-top:1px solid #ddd;padding:.5rem 0}")}</style>
</head>
<body>
<h1>${doc.info.title} ${doc.info.version}</h1>
<p>${doc.info.description ?? ""}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Errors are JSON <code>{"error": {"code", "message", "field"}}</code>.</p>
${endpoints}
</body>
</html>`;
}
