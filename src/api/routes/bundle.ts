import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { BUNDLE_FILES } from "../../store/format.ts";
import type { AppDeps, Env } from "../deps.ts";
import { ApiError } from "../errors.ts";
import { errorResponses, router } from "../router.ts";

const fileResponse = {
  200: {
    description: "the file: bytes (.bin), JSON (.json) or JSON lines (.jsonl)",
    content: {
      "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
      "text/plain": { schema: z.string() },
    },
  },
} as const;

const storeFile = createRoute({
  method: "get",
  path: "/v1/bundle/store/{file}",
  operationId: "getStoreFile",
  tags: ["bundle"],
  summary: "A file of the INT8 store, for in-browser search",
  security: [],
  request: {
    params: z.object({
      file: z.enum(Object.values(BUNDLE_FILES)).openapi({
        param: { name: "file", in: "path", description: "a store file of the bundle" },
        example: BUNDLE_FILES.manifest,
      }),
    }),
  },
  responses: { ...fileResponse, ...errorResponses(404) },
});

const modelFile = createRoute({
  method: "get",
  path: "/v1/bundle/models/{model}/{file}",
  operationId: "getModelFile",
  tags: ["bundle"],
  summary: "A file of a served model, for in-browser inference",
  security: [],
  request: {
    params: z.object({
      model: z.string().openapi({ param: { name: "model", in: "path", description: "a model name from GET /v1/models" } }),
      file: z.string().openapi({
        param: { name: "file", in: "path", description: "model.json, weights.bin (INT8 where available) or model.onnx" },
        example: "model.json",
      }),
    }),
  },
  responses: { ...fileResponse, ...errorResponses(404) },
});

function sendFile(c: Context<Env>, data: ArrayBuffer | string | undefined, what: string) {
  if (data === undefined) throw new ApiError(404, "not_found", `${what} is not available here`);
  if (typeof data === "string") return c.text(data);
  return c.body(data, 200, { "content-type": "application/octet-stream", "cache-control": "public, max-age=300" });
}

export function bundleRoutes(deps: AppDeps) {
  return router()
    .openapi(storeFile, async (c) => {
      const { file } = c.req.valid("param");
      return sendFile(c, await deps.bundle?.storeFile(file), `store file '${file}'`) as never;
    })
    .openapi(modelFile, async (c) => {
      const { model, file } = c.req.valid("param");
      return sendFile(c, await deps.bundle?.modelFile(model, file), `model file '${model}/${file}'`) as never;
    });
}
