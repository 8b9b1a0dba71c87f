import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initLvmBackend } from "../../src/lvm/tf-backend.ts";
import { cosineLoss, infoNceLoss, mseLoss, parseLossWeights } from "../../src/train/losses.ts";

beforeAll(async () => {
  await initLvmBackend();
});

const value = (t: tf.Scalar) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};
const m = (rows: number[][]) => tf.tensor2d(rows);

describe("losses against hand-computed values", () => {
  // pred (1,0,0), (0,1,0); target (0.6,0.8,0), (0,1,0): squared errors 0.16 + 0.64 over 6 elements.
  const pred = [
    [1, 0, 0],
    [0, 1, 0],
  ];
  const target = [
    [0.6, 0.8, 0],
    [0, 1, 0],
  ];

  it("MSE is the mean over elements of the squared difference", () => {
    expect(value(mseLoss(m(pred), m(target)))).toBeCloseTo(0.8 / 6, 6);
  });

  it("cosine loss is 1 - the mean dot product of the rows", () => {
    expect(value(cosineLoss(m(pred), m(target)))).toBeCloseTo(1 - (0.6 + 1) / 2, 6);
  });

  // Candidates (columns) c0 = (1,0), c1 = (0,1), c2 = (-1,0); temperature 0.5.
  const candidatesT = () =>
    m([
      [1, 0, -1],
      [0, 1, 0],
    ]);

  it("InfoNCE is the cross-entropy of the true candidate among logits pred . c / T", () => {
    // Row 1: pred (1,0), logits (2, 0, -2), true c0: -log(e^2 / (e^2 + 1 + e^-2)) = log(1 + e^-2 + e^-4).
    // Row 2: pred (0,1), logits (0, 2, 0), true c1: log(1 + 2 e^-2). The loss is their mean.
    const loss = infoNceLoss(
      m([
        [1, 0],
        [0, 1],
      ]),
      candidatesT(),
      m([
        [1, 0, 0],
        [0, 1, 0],
      ]),
      0.5,
    );
    const expected = (Math.log(1 + Math.exp(-2) + Math.exp(-4)) + Math.log(1 + 2 * Math.exp(-2))) / 2;
    expect(value(loss)).toBeCloseTo(expected, 5);
  });

  it("a masked candidate does not count: the loss equals the loss without that column", () => {
    // Mask c1 for the one row: log(1 + e^-4), as if c1 were not a candidate at all.
    const masked = value(infoNceLoss(m([[1, 0]]), candidatesT(), m([[1, 0, 0]]), 0.5, m([[0, -1e9, 0]])));
    expect(masked).toBeCloseTo(Math.log(1 + Math.exp(-4)), 5);
    const without = infoNceLoss(
      m([[1, 0]]),
      m([
        [1, -1],
        [0, 0],
      ]),
      m([[1, 0]]),
      0.5,
    );
    expect(masked).toBeCloseTo(value(without), 5);
    // And a mask of zeros changes nothing.
    const zeros = infoNceLoss(m([[1, 0]]), candidatesT(), m([[1, 0, 0]]), 0.5, m([[0, 0, 0]]));
    expect(value(zeros)).toBeCloseTo(Math.log(1 + Math.exp(-2) + Math.exp(-4)), 5);
  });

  it("parses weighted sums and refuses unknown losses and bad weights", () => {
    expect(parseLossWeights("infonce=1,mse=0.5")).toEqual({ infonce: 1, mse: 0.5, cosine: 0 });
    expect(parseLossWeights("cosine")).toEqual({ infonce: 0, mse: 0, cosine: 1 });
    expect(() => parseLossWeights("hinge")).toThrow(/unknown loss 'hinge'/);
    expect(() => parseLossWeights("mse=-1")).toThrow(/>= 0/);
  });
});
