// @resnet/trainer, browser entry (the `browser` export condition, or `@resnet/trainer/browser`): the same
// training loop, optimiser, schedules and evaluation as the Node entry, importing nothing from `node:`. What
// needs Node stays there: run folders (metrics.jsonl, checkpoint files) and SIGINT/SIGTERM.
import { browserHost } from './browser-host.js';
import { createTrain } from './train.js';

export type { Checkpoint, CheckpointContents, CheckpointTensor } from './checkpoint.js';
export type { Batch, BatchSource } from './data.js';
export {
  type CheckpointReason,
  type EventRecord,
  type LogRecord,
  type MetricsRecord,
  type ParseMetricsOptions,
  parseMetrics,
} from './metrics.js';
export type { ProgressMode } from './progress-state.js';
export { type RngState, TrainerRng } from './rng.js';
export { RUN_FILES } from './run-files.js';
export {
  constantSchedule,
  type EpochScheduleArgs,
  epochSchedule,
  PAPER_SCHEDULE,
  type PaperScheduleArgs,
  paperSchedule,
  type ScaledPaperScheduleArgs,
  type Schedule,
  type StepScheduleArgs,
  scaledPaperSchedule,
  stepSchedule,
  type Warmup,
} from './schedule.js';
export { MomentumSgd, type SgdOptions } from './sgd.js';
export {
  crossEntropyFromLogits,
  evaluate,
  type Head,
  type OutputKind,
  readStep,
  resolveHead,
  type StepTensors,
  type StepValues,
  type TrainStepArgs,
  trainStep,
} from './step.js';
export type {
  CheckpointEvent,
  EvaluateEvent,
  EvaluateOptions,
  StepEndEvent,
  TrainCallbacks,
  TrainOptions,
  TrainResult,
} from './train.js';

/**
 * Trains `model` on `data` for `iterations` iterations, as the Node entry's `train` does, without a runDir
 * (keep metrics with `callbacks.onLog`) or signals (stop with `signal`, an AbortSignal).
 */
export const train = createTrain(browserHost);
