// What training reports while it runs: per step, per epoch, and the hooks that receive it.

export interface StepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
  valR5: number | null;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valR5: number;
  valR1: number;
  valCosine: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface TrainHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(record: EpochRecord): void;
  log?(line: string): void;
  /** Called after each epoch's checkpoint; returning true stops (tests simulate a kill with it). */
  stopAfterEpoch?(epoch: number): boolean;
}
