// Request and response schemas of the HTTP API: they validate requests, type the handlers and the page's
// client (hono/client), and generate the OpenAPI document (src/api/openapi-document.ts) — one source for all three.
import { z } from "@hono/zod-openapi";
import { REFINE_DEFAULTS } from "../decoder/refine.ts";
import { normalizeText } from "../encoders/normalize-text.ts";

export const MAX_CONTEXT = 64;
export const MAX_TEXTS = 256;

// Lone surrogates -> U+FFFD, control characters -> spaces (the page's in-browser encoder applies the same).
export { normalizeText };

/** A vector of finite numbers (JSON has no NaN/Infinity: they arrive as null or huge literals). */
const vector = z.array(z.number().refine(Number.isFinite, "must be a finite number"));
const text = z.string().overwrite(normalizeText).trim().min(1, "must be a non-empty string (control characters count as spaces)").openapi({
  description:
    "a non-empty text. Normalised before use: a lone UTF-16 surrogate becomes U+FFFD, a control character (U+0000-U+001F but tab, LF and CR; U+007F-U+009F) a space, then the ends are trimmed. The encoder reads its first 128 tokens (and at most its first 4,096 characters): the response's `truncated` names the texts it cut",
});
/** Indices of request texts the encoder read only the beginning of. */
const truncatedIndices = z.array(z.number().int()).optional().openapi({
  description:
    "indices (into the request's texts or context) of the texts the encoder read only the beginning of: past its 128-token limit or its first 4,096 characters; absent when none was cut",
});
/** A vector as base64 float32 (src/predict/vector-b64.ts), decoded where the store's dim is known. */
const vectorB64 = z
  .object({
    b64: z.string().min(1, "must be a non-empty base64 string").openapi({
      description:
        "the vector's float32 values, little-endian, 4 bytes each, standard base64 with padding (dim 512: 2,048 bytes, 2,732 characters); a wrong length, bad base64 or a NaN/Infinity value is a 400 naming this field",
      format: "byte",
      example: "AACAPwAAAAA=",
    }),
  })
  .strict()
  .openapi("VectorBase64", { description: "a vector as base64 float32 (little-endian): about a quarter of the JSON numbers' size" });
const k = z.number().int().min(1).max(100).default(10).openapi({ description: "how many concepts to return" });
const exact = z.boolean().default(false).openapi({ description: "search every row instead of the approximate index" });
const ef = z.number().int().min(1).max(4096).optional().openapi({ description: "beam width of the approximate index" });
const modelName = z.string().min(1).optional().openapi({ description: "a model from GET /v1/models; the default when absent" });

export const embedRequest = z
  .object({ texts: z.array(text).min(1, "needs at least one text").max(MAX_TEXTS, `at most ${MAX_TEXTS} texts per request`) })
  .openapi("EmbedRequest");

export const searchRequest = z
  .object({
    text: text.optional(),
    vector: z
      .union([vector, vectorB64], { error: "must be a vector of numbers or {b64}" })
      .optional()
      .openapi({ description: "the store's dim values as JSON numbers, or {b64} (base64 float32, little-endian)" }),
    k,
    exact,
    ef,
  })
  .refine((r) => (r.text === undefined) !== (r.vector === undefined), {
    message: "give exactly one of 'text' or 'vector'",
    path: ["text"],
  })
  .openapi("SearchRequest");

// Vectors are checked by one plain loop below (zod per element costs as much as the search itself); vector
// items accept null at parse time only so that a NaN/Infinity (null in JSON) is reported at its exact index.
// Typed as number[]: the superRefine on the context array below guarantees it before a handler runs.
const looseVector = z.array(z.unknown()).openapi({
  description: "a vector of finite numbers, the store's dim",
  type: "array",
  items: { type: "number" },
}) as unknown as z.ZodArray<z.ZodNumber>;
const storedConcept = z
  .object({ row: z.number().int().min(0).openapi({ description: "a stored concept's row (GET /v1/concepts/{row})" }) })
  .strict()
  .openapi("StoredConceptRef");
const contextItem = z
  .union([text, looseVector, vectorB64, storedConcept], { error: "must be a text, a vector of numbers, {b64} or {row: n}" })
  .openapi("ContextItem", {
    description: "a text, a vector (JSON numbers, or {b64}: base64 float32, little-endian), or a stored concept {row}",
  });
const contextItems = z
  .array(contextItem)
  .min(1, "needs at least one concept (a text, a vector, {b64} or {row})")
  .max(MAX_CONTEXT, `at most ${MAX_CONTEXT} concepts`)
  .superRefine((items, ctx) => {
    items.forEach((item, i) => {
      if (!Array.isArray(item)) return;
      const j = item.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
      if (j >= 0) ctx.addIssue({ code: "custom", message: "must be a finite number (JSON null stands for NaN or Infinity)", path: [i, j] });
    });
  })
  .openapi({
    description:
      "1..64 concepts, oldest first; the model's last 5 are used (a shorter context is left-padded with its first item). Stored concepts among them (a {row}, a text equal to a stored text, or a vector within cosine 0.9999 of a stored one) are never returned.",
  });

// Vector-to-text decoding of the predicted vectors (src/decoder/): bounded so one request stays affordable (the
// shipped decoder takes about 0.2 s per refined sentence with the defaults, docs/decoder.md). The defaults shown are
// refine.ts's, which every decoder caller applies.
const decode = z.boolean().default(false).openapi({
  description:
    "also generate text for the predicted vector(s) with the vector-to-text decoder (501 where the deployment has none: on Node, start with LVM_DECODER=<decoder dir>)",
});
const decodeOptions = z
  .object({
    steps: z
      .number()
      .int()
      .min(0)
      .max(8)
      .optional()
      .openapi({ description: `refinement steps after the first hypothesis (default ${REFINE_DEFAULTS.steps})` }),
    beam: z
      .number()
      .int()
      .min(1)
      .max(8)
      .optional()
      .openapi({ description: `beam width (default ${REFINE_DEFAULTS.beam})` }),
    samples: z
      .number()
      .int()
      .min(0)
      .max(16)
      .optional()
      .openapi({ description: `sampled hypotheses per refinement step (default ${REFINE_DEFAULTS.samples})` }),
    temperature: z
      .number()
      .gt(0)
      .max(2)
      .optional()
      .openapi({ description: `sampling temperature (default ${REFINE_DEFAULTS.temperature})` }),
    feedback: z
      .number()
      .min(0)
      .max(4)
      .optional()
      .openapi({ description: `how far each step moves the conditioning against the error (default ${REFINE_DEFAULTS.feedback})` }),
    patience: z
      .number()
      .int()
      .min(0)
      .max(8)
      .optional()
      .openapi({
        description: `refinement steps in a row that may find no better text before refinement stops (default ${REFINE_DEFAULTS.patience})`,
      }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional()
      .openapi({ description: "sampling seed (default 1): the same request gives the same text" }),
  })
  .strict()
  .optional()
  .openapi("DecodeOptions", { description: "refinement settings of the decoder (with decode: true)" });

export const nextRequest = z
  .object({
    context: contextItems,
    k,
    model: modelName,
    exact,
    ef,
    includeVector: z.boolean().default(false).openapi({ description: "also return the predicted vector" }),
    decode,
    decodeOptions,
  })
  .openapi("NextRequest");

export const generateRequest = z
  .object({
    context: contextItems,
    steps: z.number().int().min(1).max(50).default(5),
    model: modelName,
    stopCosine: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .openapi({ description: "stop when consecutive predicted vectors have cosine above this (the model has degenerated)" }),
    exact,
    ef,
    decode,
    decodeOptions,
  })
  .openapi("GenerateRequest");

// ---- responses ----------------------------------------------------------------------------------

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "invalid_request" }),
      message: z.string(),
      field: z.string().optional().openapi({ description: "the offending request field, e.g. context.2", example: "context.2" }),
    }),
  })
  .openapi("Error");

const concept = z
  .object({
    row: z.number().int(),
    text: z.string(),
    documentId: z.string(),
    title: z.string(),
    position: z.number().int().openapi({ description: "position of the concept in its document" }),
  })
  .openapi("Concept");
const scored = concept
  .extend({
    score: z.number().openapi({ description: "cosine similarity to the query or prediction" }),
    rankScore: z.number().optional().openapi({
      description:
        "present when the model searches with a hubness penalty (GET /v1/models: hubness): the score results are ordered by, cosine - weight * the concept's mean cosine to its nearest stored concepts",
    }),
  })
  .openapi("ScoredConcept");
const timings = z
  .object({
    embedMs: z.number().optional(),
    lvmMs: z.number().optional(),
    searchMs: z.number().optional(),
    decodeMs: z.number().optional().openapi({ description: "vector-to-text decoding (with decode: true)" }),
    totalMs: z.number().optional(),
  })
  .openapi("Timings", { description: "milliseconds per stage" });
const generated = z
  .object({
    generated: z.literal(true).openapi({ description: "always true: this text was written by the decoder, it is not a stored concept" }),
    text: z.string(),
    cosine: z.number().openapi({
      description:
        "cosine of the text's re-embedding (the store's encoder) to the predicted vector: how faithful the text is; compare with the retrieved concepts' scores",
    }),
    steps: z.number().int().openapi({ description: "refinement steps run (0: the first hypothesis only)" }),
  })
  .openapi("GeneratedText", { description: "text generated from the predicted vector by the vector-to-text decoder (with decode: true)" });

export const nextResponse = z
  .object({
    model: z.string(),
    backend: z.string(),
    index: z.string(),
    results: z.array(scored),
    vector: z.array(z.number()).optional().openapi({ description: "the predicted unit vector (with includeVector)" }),
    generated: generated.optional(),
    truncated: truncatedIndices,
    timings,
  })
  .openapi("NextResponse");

export const generateResponse = z
  .object({
    model: z.string(),
    backend: z.string(),
    steps: z.array(
      scored
        .extend({
          cosineToPrevious: z
            .number()
            .nullable()
            .openapi({ description: "cosine between this step's prediction and the previous one (null on the first step)" }),
          generated: generated.optional(),
        })
        .openapi("ChainStep"),
    ),
    stopped: z.enum(["steps", "degenerate", "exhausted"]),
    truncated: truncatedIndices,
    timings,
  })
  .openapi("GenerateResponse");

export const embedResponse = z
  .object({ encoder: z.string(), dim: z.number().int(), vectors: z.array(z.array(z.number())), truncated: truncatedIndices, timings })
  .openapi("EmbedResponse");

export const searchResponse = z
  .object({
    index: z.string(),
    results: z.array(scored),
    truncated: z
      .boolean()
      .optional()
      .openapi({ description: "true when the encoder read only the beginning of `text` (see SearchRequest.text); absent otherwise" }),
    timings,
  })
  .openapi("SearchResponse");

export const modelsResponse = z
  .object({
    default: z.string().optional(),
    models: z.array(
      z
        .object({
          name: z.string(),
          arch: z.string().openapi({ description: "gru, lstm, transformer or baseline" }),
          backend: z.string(),
          dim: z.number().int(),
          encoder: z.string(),
          context: z.number().int(),
          parameters: z.number().int().optional(),
          description: z.string(),
          metrics: z.record(z.string(), z.unknown()).optional(),
          hubness: z.object({ neighbours: z.number().int(), weight: z.number() }).optional().openapi({
            description:
              "How this model's predictions are searched: stored concepts ranked by cosine - weight * (their mean cosine to their `neighbours` nearest stored concepts); absent = plain cosine",
          }),
          default: z.boolean(),
        })
        .openapi("Model"),
    ),
  })
  .openapi("ModelList");

export const healthResponse = z
  .object({
    status: z.literal("ok"),
    version: z.string().optional(),
    runtime: z.enum(["node", "worker"]),
    store: z.object({
      concepts: z.number().int(),
      documents: z.number().int(),
      encoder: z.object({ id: z.string(), dim: z.number().int() }),
    }),
    index: z.string(),
    approximateIndex: z.string().nullable(),
    models: z.number().int(),
    metrics: z.string().openapi({ description: "ok, failing, unavailable or off" }),
    decoder: z.boolean().openapi({
      description: "whether a vector-to-text decoder is configured for `decode: true` (it may still be loading; on Node: LVM_DECODER)",
    }),
  })
  .openapi("Health");

export const documentsResponse = z
  .object({
    documents: z.array(z.object({ index: z.number().int(), id: z.string(), title: z.string(), concepts: z.number().int() })),
  })
  .openapi("DocumentList");

export const documentResponse = z
  .object({
    id: z.string(),
    title: z.string(),
    concepts: z.array(
      z.object({
        row: z.number().int(),
        text: z.string(),
        vector: z.array(z.number()).optional().openapi({ description: "with ?vectors=1" }),
      }),
    ),
  })
  .openapi("Document");

export const conceptResponse = concept.extend({ vector: z.array(z.number()) }).openapi("ConceptWithVector");

export const metricsResponse = z
  .object({
    windowMs: z.number(),
    since: z.number().openapi({ description: "start of the window, epoch milliseconds" }),
    rows: z.array(
      z.object({
        endpoint: z.string(),
        stage: z.enum(["embed", "lvm", "search", "total"]),
        count: z.number().int(),
        p50: z.number(),
        p95: z.number(),
        p99: z.number(),
      }),
    ),
    requests: z.array(z.object({ endpoint: z.string(), status: z.number().int(), count: z.number().int() })),
    health: z.object({
      state: z.enum(["ok", "failing", "unavailable"]),
      buffered: z.number().int(),
      written: z.number().int(),
      dropped: z.number().int(),
      rejected: z.number().int(),
      failures: z.number().int(),
      lastError: z.string().nullable(),
    }),
  })
  .openapi("MetricsSummary");

export const reloadResponse = z.object({ reloaded: z.literal(true), models: z.array(z.string()) }).openapi("Reloaded");
export const purgeResponse = z.object({ deleted: z.number().int() }).openapi("Purged");
