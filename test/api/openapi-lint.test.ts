import { join } from "node:path";
import { lintFromString, loadConfig, type NormalizedProblem } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/api/app.ts";
import { referenceIndex } from "../../src/index/types.ts";
import { baselineModels } from "../../src/lvm/baselines.ts";
import { ModelRegistry } from "../../src/lvm/registry.ts";
import { readStore } from "../../src/store/fs-store.ts";
import { buildMiniStore, REPO, tempDir } from "../helpers.ts";

// The generated OpenAPI document under Redocly's `recommended` rules (the rules `redocly lint` applies),
// offline: the config is redocly.yaml at the repository root, read here without the CLI (no telemetry).
let doc: Record<string, unknown>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const dir = await tempDir();
  cleanup = dir[Symbol.asyncDispose];
  const store = await readStore(await buildMiniStore(join(dir.path, "store")));
  const models = new ModelRegistry();
  for (const b of baselineModels(store.dim, store.encoder.id)) models.add(b);
  const app = createApp({ store, exactIndex: referenceIndex(store.vectors, store.dim), models, runtime: "node", version: "0.1.0" });
  doc = await (await app.request("/openapi.json")).json();
});
afterAll(() => cleanup?.());

async function lint(document: unknown): Promise<NormalizedProblem[]> {
  const config = await loadConfig({ configPath: join(REPO, "redocly.yaml") });
  return lintFromString({ source: JSON.stringify(document), absoluteRef: join(REPO, "openapi.json"), config });
}

const summary = (problems: NormalizedProblem[]) => problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}`);

describe("the generated OpenAPI document", () => {
  it("passes redocly's recommended rules: no error, no warning", async () => {
    const problems = await lint(doc);
    expect(problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(summary(problems)).toEqual([]);
  });

  it("names every operation and documents every route", () => {
    const paths = doc.paths as Record<string, Record<string, { operationId?: string }>>;
    expect(Object.keys(paths).sort()).toEqual(
      [
        "/healthz",
        "/docs",
        "/openapi.json",
        "/v1/admin/metrics/purge",
        "/v1/admin/reload",
        "/v1/bundle/models/{model}/{file}",
        "/v1/bundle/store/{file}",
        "/v1/concepts/{row}",
        "/v1/documents",
        "/v1/documents/{index}",
        "/v1/embed",
        "/v1/generate",
        "/v1/metrics",
        "/v1/models",
        "/v1/next",
        "/v1/search",
      ].sort(),
    );
    for (const methods of Object.values(paths)) for (const op of Object.values(methods)) expect(op.operationId).toMatch(/^[a-zA-Z]+$/);
  });

  it("fails the lint when an operation loses its operationId (the check can fail)", async () => {
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, { operationId?: string }>> };
    delete broken.paths["/v1/next"].post.operationId;
    expect(summary(await lint(broken))).toEqual(["warn operation-operationId #/paths/~1v1~1next/post/operationId"]);
  });
});
