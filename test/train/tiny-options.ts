// The tiny training run the train and tune tests share: a 16-unit gru-edge on the mini store, 2 epochs of at most
// 256 windows (seconds on one core).
import { parseLossWeights } from "../../src/train/losses.ts";
import type { TrainOptions } from "../../src/train/options.ts";

export const tinyTrainOptions = (store: string, out: string, over: Partial<TrainOptions> = {}): TrainOptions => ({
  store,
  out,
  preset: "gru-edge",
  sizes: { hidden: 16 },
  epochs: 2,
  batch: 64,
  lr: 2e-3,
  warmupSteps: 2,
  minLrFraction: 0.1,
  temperature: 0.05,
  loss: parseLossWeights("infonce=1,mse=0.5"),
  negatives: 128,
  hardNegatives: true,
  seed: 5,
  patience: 5,
  maxTrainWindows: 256,
  maxValWindows: 64,
  blendGrid: [0, 0.5],
  ...over,
});
