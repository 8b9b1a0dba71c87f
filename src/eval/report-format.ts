// report.json as written by `lvm eval --out` (writeReport: jsonSummary of an EvaluationReport), checked when
// read back to re-render its Markdown and plots (`lvm eval --replot`).
import { z } from "zod";
import { HubnessSettingsSchema, ModelConfigSchema } from "../lvm/model-format.ts";
import { nonNegativeInt, parseJsonFile } from "../validate/parse-file.ts";
import type { EvaluationReport } from "./evaluate.ts";

const row = z.object({ "r@1": z.number(), "r@5": z.number(), "r@10": z.number(), "r@20": z.number(), mrr: z.number(), cosine: z.number() });
const predictor = z.object({ excluded: row, included: row, margin: z.number(), contrastiveAccuracy: z.number() });
const speed = z.object({ msPerBatch: z.number(), samplesPerSecond: z.number().positive() });
const interval = z.tuple([z.number(), z.number()]);
const intervals = z.object({ "r@1": interval, "r@5": interval, "r@10": interval, "r@20": interval, mrr: interval });
const nullInt = z.number().nullable();
// Fields added after the first reports default to null, so older report.json files still re-render.
const newer = <T extends z.ZodType>(schema: T) => schema.nullable().default(null);

export const EvaluationReportSchema = z.object({
  store: z.object({ dir: z.string(), count: nonNegativeInt(), documents: nonNegativeInt(), encoder: z.string() }),
  createdAt: z.string(),
  part: z.enum(["test", "val"]).default("test"),
  seconds: z.number(),
  models: z
    .array(
      z.object({
        name: z.string(),
        dir: z.string(),
        arch: z.string(),
        config: ModelConfigSchema,
        blend: z.number(),
        hubness: newer(HubnessSettingsSchema),
        load: z.object({
          parameters: z.number().positive(),
          epoch: z.number().nullable(),
          epochsRun: z.number().nullable(),
          sizeBytes: z.number(),
          loadMs: z.number(),
        }),
        validation: z.object({ windows: z.number(), mse: z.number(), cosine: z.number(), infoNce: z.number(), temperature: z.number() }),
        throughput: z.object({ batch32: speed, batch1: speed, referenceBatch1Ms: z.number() }),
        test: predictor,
        testUnblended: predictor.nullable().default(null),
        testIndexed: z.object({ index: z.string(), ef: z.number(), excluded: row }).nullable().default(null), // newer than the first reports
        rollout: z.object({
          windows: z.number(),
          steps: z.array(z.object({ step: z.number(), consecutiveCosine: z.number(), cosineToTruth: z.number().nullable() })),
          degeneratedAtStep: z.number().nullable(),
        }),
        servedRollout: newer(
          z.object({
            windows: z.number(),
            stopCosine: z.number(),
            steps: z.array(
              z.object({ step: z.number(), chains: z.number(), consecutiveCosine: nullInt, cosineToTruth: nullInt, exact: nullInt }),
            ),
            meanLength: z.number(),
          }),
        ),
        storeChange: newer(z.string()),
        baselines: newer(z.object({ copyLast: predictor, meanContext: predictor, copyLastHubness: predictor.optional() })),
        intervals: newer(
          z.object({
            resamples: z.number(),
            seed: z.number(),
            level: z.number(),
            articles: z.number(),
            model: intervals,
            copyLast: intervals,
            meanContext: intervals,
            difference: intervals,
            unblended: intervals.nullable(),
            unblendedDifference: intervals.nullable(),
            copyLastHubness: newer(intervals),
            copyLastHubnessDifference: newer(intervals),
            versusFirst: z.object({ name: z.string(), difference: intervals }).nullable().default(null),
          }),
        ),
        reference: newer(
          z.object({ backend: z.string(), excluded: row, minCosine: z.number(), meanCosine: z.number(), difference: intervals }),
        ),
        testWindows: z.number(),
        testDocuments: z.number(),
        sameStore: z.boolean(),
      }),
    )
    .min(1),
  baselines: z.object({ copyLast: predictor, meanContext: predictor, copyLastHubness: predictor.optional(), testWindows: z.number() }),
});

/** report.json text → the report it was written from; errors name `where` and the field. */
export function parseReportJson(json: string, where: string): EvaluationReport {
  return parseJsonFile(EvaluationReportSchema, json, where) satisfies EvaluationReport;
}
