// @resnet/data-cifar's entry for browsers (and any runtime without Node's file system): parsing from
// in-memory buffers, normalisation, augmentation, training and evaluation batches, the dataset facts and
// the error type. It imports nothing from `node:`; the Node entry (index.ts) adds files, downloads,
// checksums and generated datasets on top of it.

export type { AleaState, TrainState } from './augment.js';
export {
  type Batch,
  type EvalBatchesOptions,
  evalBatches,
  type TrainBatchesOptions,
  type TrainBatchSource,
  trainBatches,
} from './batches.js';
export {
  CHANNELS,
  type CifarName,
  DATASETS,
  type DataFile,
  type DatasetSpec,
  IMAGE_SIZE,
  PIXELS,
} from './datasets.js';
export {
  CifarDataError,
  type CifarDataErrorArgs,
  type CifarErrorCode,
  type DataOrigin,
} from './errors.js';
export type { DataFileCheck, FileOrigin } from './integrity.js';
export {
  AUTHORS_CIFAR10_NORMALIZATION,
  computeNormalization,
  type Normalization,
  type NormalizationMode,
  type PerChannelNormalization,
  type PerPixelNormalization,
} from './normalization.js';
export {
  type CifarBuffers,
  type CifarFromBuffersOptions,
  type CifarSplit,
  cifarFromBuffers,
  type LabelKind,
  parseClassNames,
} from './parse.js';
export { holdOut } from './split.js';
