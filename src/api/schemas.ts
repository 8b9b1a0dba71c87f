import { z } from "zod";

const finite = z.number().refine(Number.isFinite, "must be a finite number");

export const embedRequest = z.object({
  texts: z.array(z.string().trim().min(1, "must be a non-empty string")).min(1).max(256),
});

export const searchRequest = z
  .object({
    text: z.string().trim().min(1).optional(),
    vector: z.array(finite).optional(),
    k: z.number().int().min(1).max(100).default(10),
  })
  .refine((r) => (r.text === undefined) !== (r.vector === undefined), {
    message: "give exactly one of 'text' or 'vector'",
    path: ["text"],
  });
