// Learning-rate schedule: linear warm-up to `lr`, then cosine decay to `lr * minLrFraction`.
import type { TrainOptions } from "./options.ts";

export function learningRate(options: TrainOptions, step: number, totalSteps: number): number {
  const { lr, warmupSteps } = options;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const minLr = lr * options.minLrFraction;
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
