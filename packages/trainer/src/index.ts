// @resnet/trainer: the training recipe of "Identity Mappings in Deep Residual Networks" (SGD with momentum
// and weight decay, the step schedule with warm-up) for any tf.LayersModel and any source of batches, with
// evaluation, metrics, checkpoints and exact resume. Imports none of the other @resnet packages.
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
export type { ProgressMode } from './progress.js';
export { type RngState, TrainerRng } from './rng.js';
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
export {
  type CheckpointEvent,
  type EvaluateEvent,
  type EvaluateOptions,
  RUN_FILES,
  type StepEndEvent,
  type TrainCallbacks,
  type TrainOptions,
  type TrainResult,
  train,
} from './train.js';
