import { z } from "zod";

export const MAX_CONTEXT = 64;
export const MAX_TEXTS = 256;

/** A vector of finite numbers (JSON has no NaN/Infinity: they arrive as null or huge literals). */
const vector = z.array(z.number().refine(Number.isFinite, "must be a finite number"));
const text = z.string().trim().min(1, "must be a non-empty string");

export const embedRequest = z.object({
  texts: z.array(text).min(1).max(MAX_TEXTS),
});

export const searchRequest = z
  .object({
    text: text.optional(),
    vector: vector.optional(),
    k: z.number().int().min(1).max(100).default(10),
    exact: z.boolean().default(false),
    ef: z.number().int().min(1).max(4096).optional(),
  })
  .refine((r) => (r.text === undefined) !== (r.vector === undefined), {
    message: "give exactly one of 'text' or 'vector'",
    path: ["text"],
  });

/**
 * Context items are texts or vectors; the last `context` (5) are used, earlier ones ignored. Vector items
 * accept null at parse time only so that a NaN/Infinity (null in JSON) is reported at its exact index.
 */
// Vectors are checked by one plain loop below (zod per element costs as much as the search itself).
const looseVector = z.array(z.unknown()).meta({ description: "a vector of finite numbers, the store's dim", items: { type: "number" } });
const contextItems = z
  .array(z.union([text, looseVector]))
  .min(1, "needs at least one concept (text or vector)")
  .max(MAX_CONTEXT, `at most ${MAX_CONTEXT} concepts`)
  .superRefine((items, ctx) => {
    items.forEach((item, i) => {
      if (!Array.isArray(item)) return;
      const j = item.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
      if (j >= 0) ctx.addIssue({ code: "custom", message: "must be a finite number (JSON null stands for NaN or Infinity)", path: [i, j] });
    });
  })
  .transform((items) => items as (string | number[])[]);

export const nextRequest = z.object({
  context: contextItems,
  k: z.number().int().min(1).max(100).default(10),
  model: z.string().min(1).optional(),
  exact: z.boolean().default(false),
  /** Beam width of the approximate index (when the store has one and `exact` is false). */
  ef: z.number().int().min(1).max(4096).optional(),
  includeVector: z.boolean().default(false),
});

export const generateRequest = z.object({
  context: contextItems,
  steps: z.number().int().min(1).max(50).default(5),
  model: z.string().min(1).optional(),
  /** Stop when consecutive predicted vectors have cosine above this (the model has degenerated). */
  stopCosine: z.number().min(0).max(1).default(0.9),
  exact: z.boolean().default(false),
  ef: z.number().int().min(1).max(4096).optional(),
});

export type NextRequest = z.infer<typeof nextRequest>;
export type GenerateRequest = z.infer<typeof generateRequest>;
