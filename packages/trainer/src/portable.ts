// What both entries of @resnet/trainer export: everything but the Node-only pieces (checkpoint files, and
// `train`, which each entry builds on its own host: files and signals in Node.js, neither in a browser).
export {
  type Checkpoint,
  type CheckpointContents,
  type CheckpointTensor,
  readCheckpoint,
} from './checkpoint-format.js';
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
export { restoreWeights } from './resume.js';
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
