// The refinement flags `lvm decode` and `lvm eval-decoder` share: their help lines, parseArgs specs and parsing,
// with the defaults of src/decoder/refine.ts.
import {
  DEFAULT_BEAM,
  DEFAULT_FEEDBACK,
  DEFAULT_PATIENCE,
  DEFAULT_SAMPLES,
  DEFAULT_STEPS,
  DEFAULT_TEMPERATURE,
  type RefineOptions,
} from "../decoder/refine.ts";
import { type Command, intOption, nonNegativeNumberOption, positiveNumberOption } from "./command.ts";

export const REFINE_USAGE = `  --steps <n>        refinement steps after the first hypothesis (default ${DEFAULT_STEPS}; 0 = beam + re-rank only)
  --beam <n>         beam width (default ${DEFAULT_BEAM})
  --samples <n>      sampled hypotheses per refinement step (default ${DEFAULT_SAMPLES})
  --temperature <t>  sampling temperature (default ${DEFAULT_TEMPERATURE})
  --feedback <f>     how far the conditioning vector moves against the error each step (default ${DEFAULT_FEEDBACK})
  --patience <n>     steps in a row that may find no better text before refinement stops (default ${DEFAULT_PATIENCE})`;

export const REFINE_FLAGS = {
  steps: { type: "string" },
  beam: { type: "string" },
  samples: { type: "string" },
  temperature: { type: "string" },
  feedback: { type: "string" },
  patience: { type: "string" },
} satisfies Command["options"];

export type ParsedRefineOptions = Required<Pick<RefineOptions, "steps" | "beam" | "samples" | "temperature" | "feedback" | "patience">>;

/** The flags' values, or the defaults; a value out of range is a UsageError naming the flag. */
export function refineOptions(values: Record<string, string | boolean | undefined>): ParsedRefineOptions {
  return {
    steps: intOption(values.steps, "steps", DEFAULT_STEPS, 0),
    beam: intOption(values.beam, "beam", DEFAULT_BEAM),
    samples: intOption(values.samples, "samples", DEFAULT_SAMPLES, 0),
    temperature: positiveNumberOption(values.temperature, "temperature", DEFAULT_TEMPERATURE),
    // 0: the conditioning stays on the target (a corrector still reads the best text so far).
    feedback: nonNegativeNumberOption(values.feedback, "feedback", DEFAULT_FEEDBACK),
    patience: intOption(values.patience, "patience", DEFAULT_PATIENCE, 0),
  };
}
