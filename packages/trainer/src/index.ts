// @resnet/trainer, Node entry: the training recipe of "Identity Mappings in Deep Residual Networks" (SGD with
// momentum and weight decay, the step schedule with warm-up) for any tf.LayersModel and any source of
// batches, with evaluation, metrics, checkpoints, exact resume and signals. Imports none of the other
// @resnet packages. The browser entry (browser.ts) is the same loop without files or signals.
import { nodeHost } from './node-host.js';
import { createTrain } from './train.js';

export {
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type CheckpointContents,
  type CheckpointTensor,
  loadCheckpoint,
  type SaveCheckpointOptions,
  saveCheckpoint,
} from './checkpoint.js';
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
 * Trains `model` on `data` for `iterations` iterations (see the README for the recipe and the exact update).
 * Resolves when the run completes, diverges or is interrupted.
 */
export const train = createTrain(nodeHost);
