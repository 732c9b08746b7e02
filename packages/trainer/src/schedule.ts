// Learning-rate schedules: plain functions from the 0-based iteration to the learning rate of that
// iteration. The paper's schedule, a version scaled to shorter runs, and step and epoch-based builders.

/** A learning-rate schedule: the learning rate used by the update of `iteration` (0-based). */
export type Schedule = (iteration: number) => number;

/** A constant learning rate held for the first iterations of a run. */
export interface Warmup {
  /** How many iterations (0 … iterations − 1) use the warm-up rate. */
  iterations: number;
  /** The learning rate during the warm-up. */
  lr: number;
}

/** Arguments of {@link stepSchedule}. */
export interface StepScheduleArgs {
  /** The learning rate after the warm-up and before the first milestone. */
  baseLr: number;
  /** Iterations at which the rate is multiplied by `gamma` (from that iteration on), ascending. */
  milestones: readonly number[];
  /** The factor applied at each milestone. Default 0.1. */
  gamma?: number;
  /** A constant rate for the first iterations, or `false` for none. Default none. */
  warmup?: Warmup | false;
}

/** Arguments of {@link paperSchedule}; every field defaults to the paper's value. */
export interface PaperScheduleArgs {
  /** Default 0.1. */
  baseLr?: number;
  /** Default `{ iterations: 400, lr: 0.01 }` ("for all CIFAR experiments"); `false` turns it off. */
  warmup?: Warmup | false;
  /** Default `[32000, 48000]`. */
  milestones?: readonly number[];
  /** Default 0.1 (the rate is divided by 10). */
  gamma?: number;
}

/** Arguments of {@link scaledPaperSchedule}. */
export interface ScaledPaperScheduleArgs {
  /** Default 0.1. */
  baseLr?: number;
  /** Default 0.1. */
  gamma?: number;
  /**
   * The warm-up rate, or `false` for none. Default `{ lr: 0.01 }`. Its length is the paper's share of the
   * run (400 of 64k iterations, 1/160), at least one iteration.
   */
  warmup?: { lr: number } | false;
  /** Milestones as fractions of the run. Default `[0.5, 0.75]` (the paper's 32k and 48k of 64k). */
  fractions?: readonly number[];
}

/** Arguments of {@link epochSchedule}. */
export interface EpochScheduleArgs {
  /** Iterations per epoch (⌈training images / batch size⌉ for a source that drops no partial batch). */
  itersPerEpoch: number;
  /** The learning rate after the warm-up and before the first milestone. */
  baseLr: number;
  /** Whole epochs (0-based) after which the rate is multiplied by `gamma`, ascending. */
  milestones: readonly number[];
  /** Default 0.1. */
  gamma?: number;
  /** A constant rate for the first epochs, or `false` for none. Default none. */
  warmup?: { epochs: number; lr: number } | false;
}

/** The paper's CIFAR schedule: 0.01 for 400 iterations, 0.1, ÷10 at 32k and 48k (training stops at 64k). */
export const PAPER_SCHEDULE = {
  baseLr: 0.1,
  warmup: { iterations: 400, lr: 0.01 },
  milestones: [32000, 48000],
  gamma: 0.1,
  iterations: 64000,
} as const;

/** A piecewise-constant schedule: optional warm-up, then `baseLr · gamma^k` after the k-th milestone. */
export function stepSchedule(args: StepScheduleArgs): Schedule {
  const gamma = args.gamma ?? 0.1;
  const warmup = args.warmup ?? false;
  checkRate('baseLr', args.baseLr);
  checkRate('gamma', gamma);
  checkMilestones('milestones', args.milestones);
  if (warmup) {
    checkRate('warmup.lr', warmup.lr);
    if (!Number.isInteger(warmup.iterations) || warmup.iterations < 0) {
      throw new Error(`warmup.iterations must be a non-negative integer, got ${warmup.iterations}`);
    }
  }
  const milestones = [...args.milestones];
  // Dividing by an integer factor (÷10) keeps the rates exact decimals (0.001, not 0.0010000000000000002).
  const inverse = 1 / gamma;
  const divisor = Math.abs(inverse - Math.round(inverse)) < 1e-9 ? Math.round(inverse) : null;
  return (iteration: number) => {
    if (warmup && iteration < warmup.iterations) return warmup.lr;
    let k = 0;
    for (const m of milestones) if (iteration >= m) k++;
    return divisor === null ? args.baseLr * gamma ** k : args.baseLr / divisor ** k;
  };
}

/** The paper's schedule (defaults as in {@link PAPER_SCHEDULE}); any field can be changed. */
export function paperSchedule(args: PaperScheduleArgs = {}): Schedule {
  return stepSchedule({
    baseLr: args.baseLr ?? PAPER_SCHEDULE.baseLr,
    milestones: args.milestones ?? PAPER_SCHEDULE.milestones,
    gamma: args.gamma ?? PAPER_SCHEDULE.gamma,
    warmup: args.warmup === undefined ? { ...PAPER_SCHEDULE.warmup } : args.warmup,
  });
}

/**
 * The paper's schedule shrunk (or stretched) to `totalIterations`: the same shape, with milestones at 50% and
 * 75% of the run and a warm-up of 1/160 of it (at least one iteration). For reduced runs; at 64000
 * iterations it equals {@link paperSchedule}.
 */
export function scaledPaperSchedule(totalIterations: number, args: ScaledPaperScheduleArgs = {}): Schedule {
  if (!Number.isInteger(totalIterations) || totalIterations <= 0) {
    throw new Error(
      `scaledPaperSchedule: totalIterations must be a positive integer, got ${totalIterations}`,
    );
  }
  const scale = totalIterations / PAPER_SCHEDULE.iterations;
  const fractions = args.fractions ?? [0.5, 0.75];
  const warmup = args.warmup === undefined ? { lr: PAPER_SCHEDULE.warmup.lr } : args.warmup;
  return stepSchedule({
    baseLr: args.baseLr ?? PAPER_SCHEDULE.baseLr,
    gamma: args.gamma ?? PAPER_SCHEDULE.gamma,
    milestones: fractions.map((f) => Math.round(f * totalIterations)),
    warmup: warmup
      ? { iterations: Math.max(1, Math.round(PAPER_SCHEDULE.warmup.iterations * scale)), lr: warmup.lr }
      : false,
  });
}

/**
 * A schedule whose milestones are epochs, counted from 0: milestone m applies from iteration m·itersPerEpoch,
 * after m whole epochs. Torch counts epochs from 1, so the authors' ResNet-1001 re-run (200 epochs, ÷10 at
 * epochs 81 and 122 in fb.resnet.torch's `epoch >= 81`) is `milestones: [80, 121]`:
 * `epochSchedule({ itersPerEpoch: 781, baseLr: 0.1, milestones: [80, 121] })` at mini-batch 64.
 */
export function epochSchedule(args: EpochScheduleArgs): Schedule {
  if (!Number.isInteger(args.itersPerEpoch) || args.itersPerEpoch <= 0) {
    throw new Error(`epochSchedule: itersPerEpoch must be a positive integer, got ${args.itersPerEpoch}`);
  }
  checkMilestones('milestones', args.milestones);
  return stepSchedule({
    baseLr: args.baseLr,
    gamma: args.gamma ?? 0.1,
    milestones: args.milestones.map((e) => e * args.itersPerEpoch),
    warmup: args.warmup
      ? { iterations: Math.round(args.warmup.epochs * args.itersPerEpoch), lr: args.warmup.lr }
      : false,
  });
}

/** The same learning rate for every iteration. */
export function constantSchedule(lr: number): Schedule {
  checkRate('lr', lr);
  return () => lr;
}

function checkRate(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a finite number ≥ 0, got ${value}`);
  }
}

function checkMilestones(name: string, milestones: readonly number[]): void {
  for (let i = 0; i < milestones.length; i++) {
    const m = milestones[i]!;
    if (!Number.isFinite(m) || m < 0 || (i > 0 && m < milestones[i - 1]!)) {
      throw new Error(`${name} must be ascending non-negative numbers, got [${milestones.join(', ')}]`);
    }
  }
}
