// The data a table trains on, from @resnet/data-cifar: the real CIFAR set of a row (found locally or
// downloaded), or a small generated one in the same binary format for smoke runs; normalised per channel
// with statistics of the training split (the authors' Torch code).
import { existsSync } from 'node:fs';
import {
  benchmarkAugmentation,
  type CifarData,
  type CifarSplit,
  computeNormalization,
  loadCifar,
  type Normalization,
  PIXELS,
  writeSyntheticCifar,
} from '@resnet/data-cifar';
import type { DatasetName } from './experiments.js';

export interface LoadedData {
  dataset: DatasetName;
  synthetic: boolean;
  numClasses: number;
  train: CifarSplit;
  test: CifarSplit;
  normalization: Normalization;
  /** The folder the files were read from. */
  source: string;
  /** Releases nothing today (splits are plain bytes); kept so callers need not know that. */
  dispose(): void;
}

export interface LoadDataArgs {
  dataset: DatasetName;
  synthetic: boolean;
  /** A local copy of the extracted folder (real data only). */
  dataDir?: string;
  /** Where the generated dataset is written (synthetic data only). */
  syntheticDir: string;
  /** Generated training and test images. */
  syntheticCounts?: { train: number; test: number };
  log?: (line: string) => void;
}

/** Generated images for smoke runs: enough for a few batches of 8, in both splits. */
export const SMOKE_DATA = { train: 64, test: 16 };

export async function loadData(args: LoadDataArgs): Promise<LoadedData> {
  let data: CifarData;
  if (args.synthetic) {
    const counts = args.syntheticCounts ?? SMOKE_DATA;
    if (!existsSync(args.syntheticDir)) {
      await writeSyntheticCifar({
        dataset: args.dataset,
        dir: args.syntheticDir,
        trainCount: counts.train,
        testCount: counts.test,
        seed: 1,
      });
    }
    data = await loadCifar({
      dataset: args.dataset,
      dataDir: args.syntheticDir,
      download: false,
      verify: false,
    });
  } else {
    try {
      data = await loadCifar({
        dataset: args.dataset,
        ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      });
    } catch (error) {
      const env = args.dataset === 'cifar10' ? 'RESNET_CIFAR10_DIR' : 'RESNET_CIFAR100_DIR';
      const folder = args.dataset === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary';
      throw new Error(
        `${args.dataset} is not available: ${(error as Error).message}\n` +
          `Point the bench at a local copy of the extracted ${folder}/ folder with --data-dir DIR or ${env}=DIR, ` +
          'or check the wiring on generated images with `run --dataset synthetic`.',
      );
    }
  }
  args.log?.(
    `${args.dataset}: ${data.train.size} training and ${data.test.size} test images from ${data.source}`,
  );
  return {
    dataset: args.dataset,
    synthetic: args.synthetic,
    numClasses: data.numClasses,
    train: data.train,
    test: data.test,
    normalization: computeNormalization(data.train, 'per-channel'),
    source: data.source,
    dispose() {},
  };
}

/** The first `count` images of a split (the whole split when `count` is undefined or larger). */
export function firstImages(split: CifarSplit, count: number | undefined): CifarSplit {
  if (count === undefined || count >= split.size) return split;
  return {
    images: split.images.subarray(0, count * PIXELS),
    labels: split.labels.subarray(0, count),
    size: count,
  };
}

/** `data-bench`: augmented images per second on one core, on generated images or a local CIFAR-10 copy. */
export async function benchmarkData(
  dataDir?: string,
): Promise<{ imagesPerSec: number; msPerBatch: number; batchSize: number; source: string }> {
  const split = dataDir
    ? (await loadCifar({ dataset: 'cifar10', dataDir, download: false })).train
    : undefined;
  const result = await benchmarkAugmentation({ batchSize: 128, ...(split ? { split } : {}) });
  return {
    imagesPerSec: result.imagesPerSec,
    msPerBatch: result.msPerBatch,
    batchSize: result.batchSize,
    source: dataDir ? `CIFAR-10 training images from ${dataDir}` : `${result.splitSize} generated images`,
  };
}
