import { describe, expect, test } from 'vitest';
import {
  constantSchedule,
  epochSchedule,
  PAPER_SCHEDULE,
  paperSchedule,
  scaledPaperSchedule,
  stepSchedule,
} from '../src/index.js';

describe('paperSchedule', () => {
  const lr = paperSchedule();
  test.each([
    [0, 0.01],
    [399, 0.01],
    [400, 0.1],
    [31999, 0.1],
    [32000, 0.01],
    [47999, 0.01],
    [48000, 0.001],
    [63999, 0.001],
    [64000, 0.001],
  ])('iteration %i → %f', (iteration, expected) => {
    // Exact: the ÷10 is a division, so the rates are the decimals the paper writes.
    expect(lr(iteration)).toBe(expected);
  });

  test('warm-up can be turned off and the milestones moved', () => {
    const noWarmup = paperSchedule({ warmup: false });
    expect(noWarmup(0)).toBe(0.1);
    const moved = paperSchedule({ milestones: [10, 20], warmup: { iterations: 2, lr: 0.5 } });
    expect([1, 2, 9, 10, 19, 20].map(moved)).toEqual([0.5, 0.1, 0.1, 0.01, 0.01, 0.001]);
  });
});

describe('scaledPaperSchedule', () => {
  test('at 64000 iterations it is the paper schedule', () => {
    const scaled = scaledPaperSchedule(PAPER_SCHEDULE.iterations);
    const paper = paperSchedule();
    for (const i of [0, 399, 400, 31999, 32000, 47999, 48000, 64000]) expect(scaled(i)).toBe(paper(i));
  });

  test('a 1600-iteration run: warm-up 10, milestones 800 and 1200', () => {
    const lr = scaledPaperSchedule(1600);
    expect([0, 9, 10, 799, 800, 1199, 1200].map(lr)).toEqual([0.01, 0.01, 0.1, 0.1, 0.01, 0.01, 0.001]);
  });

  test('a very short run keeps one warm-up iteration', () => {
    const lr = scaledPaperSchedule(20);
    expect([0, 1, 9, 10, 14, 15].map(lr)).toEqual([0.01, 0.1, 0.1, 0.01, 0.01, 0.001]);
  });

  test('refuses a non-positive length', () => {
    expect(() => scaledPaperSchedule(0)).toThrow(/totalIterations must be a positive integer/);
  });
});

test('epochSchedule: the authors’ ResNet-1001 re-run (÷10 from Torch’s 1-based epochs 81 and 122)', () => {
  // fb.resnet.torch: decay = epoch >= 122 and 2 or epoch >= 81 and 1 or 0, epochs counted from 1, so the
  // first iteration at 0.01 is the first of the 81st epoch, after 80 whole epochs.
  const lr = epochSchedule({ itersPerEpoch: 781, baseLr: 0.1, milestones: [80, 121] });
  expect([0, 80 * 781 - 1, 80 * 781, 121 * 781 - 1, 121 * 781].map(lr)).toEqual([
    0.1, 0.1, 0.01, 0.01, 0.001,
  ]);
  const warm = epochSchedule({
    itersPerEpoch: 10,
    baseLr: 1,
    milestones: [],
    warmup: { epochs: 1, lr: 0.1 },
  });
  expect([9, 10].map(warm)).toEqual([0.1, 1]);
});

test('stepSchedule with a gamma that is not 1/integer', () => {
  const lr = stepSchedule({ baseLr: 1, milestones: [1, 2], gamma: 0.3 });
  expect(lr(0)).toBe(1);
  expect(lr(1)).toBeCloseTo(0.3, 12);
  expect(lr(2)).toBeCloseTo(0.09, 12);
});

test('bad arguments are refused with the name of the argument', () => {
  expect(() => stepSchedule({ baseLr: -1, milestones: [] })).toThrow(/baseLr must be/);
  expect(() => stepSchedule({ baseLr: 0.1, milestones: [5, 3] })).toThrow(/milestones must be ascending/);
  expect(() => paperSchedule({ warmup: { iterations: 1.5, lr: 0.01 } })).toThrow(/warmup.iterations/);
  expect(() => constantSchedule(Number.NaN)).toThrow(/lr must be/);
  expect(() => epochSchedule({ itersPerEpoch: 0, baseLr: 0.1, milestones: [] })).toThrow(/itersPerEpoch/);
});
