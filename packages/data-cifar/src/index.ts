// @resnet/data-cifar in Node: CIFAR-10 and CIFAR-100 from download to augmented, normalised training
// batches. Everything of the browser entry, plus files, downloads, checksums and generated datasets.

export {
  type AugmentationBenchmark,
  type BenchmarkAugmentationOptions,
  benchmarkAugmentation,
} from './benchmark.js';
export * from './browser.js';
export {
  type DownloadArgs,
  DownloadError,
  downloadFile,
  md5File,
  type ProgressStream,
} from './download.js';
export { type CifarData, type LoadCifarOptions, loadCifar } from './load.js';
export { DATA_DIR_ENV, resolveCacheDir } from './paths.js';
export { type SyntheticCifarOptions, writeSyntheticCifar } from './synthetic.js';
