// The data a table trains on, from @resnet/data-cifar: the real CIFAR set of a row (found locally or
// downloaded, every file checked against the official checksums), or a small generated one in the same
// binary format for smoke runs; normalised per channel with statistics of the training split (the authors'
// Torch code). Also what identifies that data in a run's config.json, and the CLI's wording of data errors.
import {
  benchmarkAugmentation,
  type CifarData,
  CifarDataError,
  type CifarSplit,
  computeNormalization,
  DATASETS,
  loadCifar,
  type Normalization,
  PIXELS,
  resolveCacheDir,
  writeSyntheticCifar,
} from '@resnet/data-cifar';
import type { DatasetName } from './experiments.js';
import type { DataIdentity } from './run-files.js';

export interface LoadedData {
  dataset: DatasetName;
  synthetic: boolean;
  numClasses: number;
  train: CifarSplit;
  test: CifarSplit;
  normalization: Normalization;
  /** The folder the files were read from. */
  source: string;
  /** Each data file's records, SHA-256 and check, as loadCifar reported them. */
  files: CifarData['files'];
  /** Every file verified as the official one. */
  official: boolean;
  /** Releases nothing today (splits are plain bytes); kept so callers need not know that. */
  dispose(): void;
}

export interface LoadDataArgs {
  dataset: DatasetName;
  synthetic: boolean;
  /** A local copy of the extracted folder (real data only). */
  dataDir?: string;
  /** Train on files that are not the official ones (`--allow-unofficial-data`); they are recorded as such. */
  allowUnofficial?: boolean;
  /** Where the generated dataset is written (synthetic data only). */
  syntheticDir: string;
  /** Generated training and test images. */
  syntheticCounts?: { train: number; test: number };
  log?: (line: string) => void;
}

/** Generated images for smoke runs: enough for a few batches of 8, in both splits. */
export const SMOKE_DATA = { train: 64, test: 16 };

/** The flag that lets the bench train on files that are not the official ones. */
export const ALLOW_UNOFFICIAL_FLAG = '--allow-unofficial-data';

export async function loadData(args: LoadDataArgs): Promise<LoadedData> {
  let data: CifarData;
  if (args.synthetic) {
    const counts = args.syntheticCounts ?? SMOKE_DATA;
    // Generated in a temporary folder and renamed into place; a folder left by a killed generation (or by an
    // older bench, which generated in place) is regenerated, never taken for complete.
    const { dir } = await writeSyntheticCifar({
      dataset: args.dataset,
      dir: args.syntheticDir,
      trainCount: counts.train,
      testCount: counts.test,
      seed: 1,
    });
    try {
      data = await loadCifar({ dataset: args.dataset, dataDir: dir, download: false, allowUnofficial: true });
    } catch (error) {
      if (!(error instanceof CifarDataError)) throw error;
      // The bench's own folder, generated under --out (the user named no data folder): it may be deleted.
      throw new Error(
        `the generated data in ${dir} cannot be read: ${error.detail}
Delete ${dir} to have it generated again.`,
        { cause: error },
      );
    }
  } else {
    try {
      data = await loadCifar({
        dataset: args.dataset,
        ...(args.dataDir ? { dataDir: args.dataDir } : {}),
        ...(args.allowUnofficial ? { allowUnofficial: true } : {}),
      });
    } catch (error) {
      if (error instanceof CifarDataError)
        throw new Error(cliDataMessage(error, args.dataset), { cause: error });
      throw error;
    }
  }
  const unofficial = data.files.filter((f) => f.origin !== 'official' && f.origin !== 'official-archive');
  if (!args.synthetic && unofficial.length > 0) {
    args.log?.(
      `${args.dataset}: training on files that are not the official ones (${ALLOW_UNOFFICIAL_FLAG}): ` +
        unofficial.map((f) => `${f.name} (${f.origin}, ${f.records} records)`).join(', '),
    );
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
    files: data.files,
    official: data.official,
    dispose() {},
  };
}

/**
 * A data error worded for the bench's users: the library's account of what is wrong (which names the file),
 * then what to do with the bench's flags. Never "delete it" of a folder the user brought.
 */
export function cliDataMessage(
  error: CifarDataError,
  dataset: DatasetName,
  { allowFlag = true }: { allowFlag?: boolean } = {},
): string {
  const spec = DATASETS[dataset];
  const localCopy =
    `Point the bench at a local copy of the extracted ${spec.folder}/ folder with --data-dir DIR or ` +
    `${spec.dirEnv}=DIR, or check the wiring on generated images with \`run --dataset synthetic\`.`;
  const ours = error.origin === 'cache';
  const where = error.origin === 'dataDir' ? '--data-dir ' : '';
  switch (error.code) {
    case 'not-found':
      return `${spec.title} is not available: ${where}${error.detail}\n${localCopy}`;
    case 'download-failed':
      return (
        `${spec.title} is not available: ${error.detail}\n${localCopy} ` +
        `Or download ${spec.archiveName} yourself into ${resolveCacheDir()}: it is checked and extracted on the next run.`
      );
    case 'malformed':
      return (
        `${error.detail}\n` +
        (ours
          ? `Delete ${error.folder} to download it again.`
          : `Replace the file with the one from the official ${spec.archiveName}, or point --data-dir at an intact copy.`)
      );
    case 'unofficial':
      return (
        `${error.detail}\n` +
        (allowFlag
          ? `Pass ${ALLOW_UNOFFICIAL_FLAG} to train on these files anyway: each run's config.json then records every ` +
            "file's SHA-256 and record count, and the report's header names the unofficial files."
          : `This command reads only the official files: point --data-dir at an official copy (\`run\` and \`demo\` take ${ALLOW_UNOFFICIAL_FLAG}).`) +
        (ours ? ` Or delete ${error.folder} to download the official archive again.` : '')
      );
  }
}

/** What a run's config.json records of its data; `testImages` is the scale's cut of the test set. */
export function dataIdentity(data: LoadedData, testImages: number | undefined): DataIdentity {
  return {
    official: data.official,
    files: data.files.map((f) => ({
      split: f.split,
      name: f.name,
      records: f.records,
      sha256: f.sha256,
      origin: f.origin,
    })),
    splits: {
      train: data.train.size,
      validation: 0,
      test: data.test.size,
      testEvaluated: Math.min(testImages ?? data.test.size, data.test.size),
    },
  };
}

/** The content of the data (files and split sizes), without how it was checked. */
function contentOf(identity: DataIdentity): string {
  const files = identity.files.map(({ split, name, records, sha256 }) => ({ split, name, records, sha256 }));
  return JSON.stringify({ files, splits: identity.splits });
}

export function sameData(a: DataIdentity, b: DataIdentity): boolean {
  return contentOf(a) === contentOf(b);
}

/** Which files differ between the data a run folder recorded and the data loaded now, for the message. */
export function describeDataChange(recorded: DataIdentity, now: DataIdentity): string {
  const show = (f: DataIdentity['files'][number] | undefined) =>
    f ? `${f.records.toLocaleString('en-US')} records, SHA-256 ${f.sha256.slice(0, 16)}…` : 'absent';
  const names = [...new Set([...recorded.files, ...now.files].map((f) => f.name))];
  const parts: string[] = [];
  for (const name of names) {
    const a = recorded.files.find((f) => f.name === name);
    const b = now.files.find((f) => f.name === name);
    if (a?.sha256 === b?.sha256 && a?.records === b?.records) continue;
    parts.push(`${name}: recorded ${show(a)}; now ${show(b)}`);
  }
  if (JSON.stringify(recorded.splits) !== JSON.stringify(now.splits)) {
    const s = (x: DataIdentity['splits']) =>
      `${x.train}/${x.validation}/${x.test} (${x.testEvaluated} evaluated)`;
    parts.push(`train/validation/test images: recorded ${s(recorded.splits)}; now ${s(now.splits)}`);
  }
  return parts.join('; ');
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

/** The batch `data-bench` times (the paper's mini-batch). */
const DATA_BENCH_BATCH = 128;

/** `data-bench`: augmented images per second on one core, on generated images or a local CIFAR-10 copy. */
export async function benchmarkData(
  dataDir?: string,
): Promise<{ imagesPerSec: number; msPerBatch: number; batchSize: number; source: string }> {
  // Throughput does not depend on which images they are, so any copy will do.
  const split = dataDir
    ? (
        await loadCifar({ dataset: 'cifar10', dataDir, download: false, allowUnofficial: true }).catch(
          (error) => {
            throw error instanceof CifarDataError ? new Error(cliDataMessage(error, 'cifar10')) : error;
          },
        )
      ).train
    : undefined;
  if (split && split.size < DATA_BENCH_BATCH) {
    throw new Error(
      `--data-dir ${dataDir} holds ${split.size} training images, fewer than one batch of ${DATA_BENCH_BATCH}, which ` +
        'data-bench times; point --data-dir at a fuller copy (CIFAR-10 has 50,000), or leave it out to time generated images',
    );
  }
  const result = await benchmarkAugmentation({ batchSize: DATA_BENCH_BATCH, ...(split ? { split } : {}) });
  return {
    imagesPerSec: result.imagesPerSec,
    msPerBatch: result.msPerBatch,
    batchSize: result.batchSize,
    source: dataDir ? `CIFAR-10 training images from ${dataDir}` : `${result.splitSize} generated images`,
  };
}
