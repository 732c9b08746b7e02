// @resnet/data-cifar's entry for browsers (and any runtime without Node's file system): parsing from
// in-memory buffers, the official archive or folder read in memory and checked against the official
// checksums, generated datasets in memory, normalisation, augmentation, training and evaluation batches, the
// dataset facts and the error type. It imports nothing from `node:`; the Node entry (index.ts) adds files,
// downloads, folders on disk and generated dataset folders on top of it.

export type { AleaState, TrainState } from './augment.js';
export {
  type Batch,
  type EvalBatchesOptions,
  evalBatches,
  type TrainBatchesOptions,
  type TrainBatchSource,
  trainBatches,
} from './batches.js';
export { type DataFileCheck, type FileOrigin, isOfficial, MANIFEST_FILE } from './checks.js';
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
export {
  type BlobLike,
  type CifarArchive,
  type CifarFromFiles,
  type CifarFromFilesOptions,
  cifarFromFiles,
  type ReadCifarArchiveOptions,
  readCifarArchive,
} from './memory-files.js';
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
export {
  type SyntheticFilesOptions,
  type SyntheticSettings,
  syntheticCifarFiles,
} from './synthetic-files.js';
