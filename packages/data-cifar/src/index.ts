// @resnet/data-cifar: CIFAR-10 and CIFAR-100 from download to augmented, normalised training batches.

export type { TrainState } from './augment.js';
export {
  type Batch,
  type EvalBatchesOptions,
  evalBatches,
  type TrainBatchesOptions,
  type TrainBatchSource,
  trainBatches,
} from './batches.js';
export {
  type AugmentationBenchmark,
  type BenchmarkAugmentationOptions,
  benchmarkAugmentation,
} from './benchmark.js';
export { type CifarName, DATASETS, type DataFile, type DatasetSpec, PIXELS } from './datasets.js';
export { type DownloadArgs, DownloadError, downloadFile, md5File } from './download.js';
export {
  CifarDataError,
  type CifarDataErrorArgs,
  type CifarErrorCode,
  type DataOrigin,
} from './errors.js';
export { type DataFileCheck, type FileOrigin, isOfficial, MANIFEST_FILE } from './integrity.js';
export { type CifarData, holdOut, type LoadCifarOptions, loadCifar } from './load.js';
export {
  AUTHORS_CIFAR10_NORMALIZATION,
  computeNormalization,
  type Normalization,
  type NormalizationMode,
  type PerChannelNormalization,
  type PerPixelNormalization,
} from './normalization.js';
export { DATA_DIR_ENV, resolveCacheDir } from './paths.js';
export type { CifarSplit, LabelKind } from './read.js';
export { type SyntheticCifarOptions, writeSyntheticCifar } from './synthetic.js';
