// The options of `lvm train` and the model configuration they give.
import { type Preset, presetConfig } from "../lvm/architectures.ts";
import type { ModelConfig } from "../lvm/model-format.ts";
import type { LossWeights } from "./losses.ts";

export interface TrainOptions {
  store: string;
  /** Stores whose every document is training data (article-disjoint from `store`; checked). */
  extraStores?: string[];
  out: string;
  preset: Preset;
  /** Size overrides applied to the preset (hidden, layers, width, heads, ffn, residual). */
  sizes: Partial<Record<"hidden" | "layers" | "width" | "heads" | "ffn", number>> & { residual?: boolean };
  epochs: number;
  batch: number;
  lr: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of `lr` (cosine decay after warm-up). */
  minLrFraction: number;
  temperature: number;
  loss: LossWeights;
  /** Extra negatives per step sampled from the training documents' concepts (InfoNCE). */
  negatives: number;
  /** Add the concepts right after and right before each window (same article) as negatives. */
  hardNegatives: boolean;
  /** Per window, this many concepts drawn from its own article outside the window, as negatives (0 or absent = off). */
  articleNegatives?: number;
  /**
   * Capacity of the queue of recent steps' targets added as InfoNCE negatives (NegativeQueue; emptied at each
   * epoch's start so a resumed run repeats an uninterrupted one); 0 or absent = off.
   */
  queue?: number;
  seed: number;
  /** Stop after this many epochs without a better validation R@5. */
  patience: number;
  /** Cap on training windows per epoch and on validation windows (tests, quick runs); 0 = all. */
  maxTrainWindows: number;
  maxValWindows: number;
  /** Dropout rate during training (inputs of each recurrent layer, residual branches, features before the head). */
  dropout?: number;
  /** Blend weights tried on validation after training (0 = no blend). */
  blendGrid: number[];
  /** Hubness penalty weights tried with each blend weight (0 = none; absent: DEFAULT_HUBNESS_GRID). */
  hubnessGrid?: number[];
}

export const DEFAULT_BLEND_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

/** Hubness penalty weights swept on validation (src/index/hubness.ts; 0.5 was best for gru-edge on dev1k). */
export const DEFAULT_HUBNESS_GRID = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export function modelConfigFor(options: TrainOptions, dim: number): ModelConfig {
  const config = { ...presetConfig(options.preset, dim) } as ModelConfig & Record<string, unknown>;
  for (const [k, v] of Object.entries(options.sizes)) if (v !== undefined) config[k] = v;
  return config;
}
