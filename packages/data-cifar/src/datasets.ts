// What is known about the two datasets: where the official archives live, their checksums, the folder
// and file names inside them, the record layout, and the MD5s of the official extracted files.

/** The two datasets this package reads. */
export type CifarName = 'cifar10' | 'cifar100';

/** Image geometry shared by both datasets. */
export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
/** Bytes of pixels in one image: a 32×32 red plane, then green, then blue. */
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE * CHANNELS;

/** One data file of a split, and the MD5 of the official file when we know it. */
export interface DataFile {
  name: string;
  /** MD5 of the official file, where one is known; others are checked against the extraction manifest. */
  md5?: string;
}

export interface DatasetSpec {
  name: CifarName;
  /** Human name used in messages. */
  title: string;
  /** Official archive on the dataset's home page. */
  url: string;
  archiveName: string;
  archiveBytes: number;
  archiveMd5: string;
  /** The folder the archive extracts to. */
  folder: string;
  /** Environment variable that points at a local copy of that folder. */
  dirEnv: string;
  /** Bytes of labels before each image's pixels. */
  labelBytes: number;
  trainFiles: DataFile[];
  testFiles: DataFile[];
  /** Images in each split of the official dataset: part of what makes a folder the official one. */
  officialRecords: { train: number; test: number };
  /** Class-name files, by label kind. */
  nameFiles: { fine: string; coarse?: string };
  /** Number of classes, by label kind. */
  classes: { fine: number; coarse?: number };
  /** Every member the archive may contribute; anything else in it is not extracted. */
  members: string[];
}

// MD5s of the official extracted CIFAR-10 files. The dataset's home page publishes only the archive's MD5;
// these per-file MD5s are the ones two independent projects check after extracting the official archive
// (prabhuomkar/pytorch-cpp `cmake/fetch_cifar10.cmake`, rai-project/dldataset's CIFAR-10 reader), and the
// five training batches' agree with a byte-identical copy of the official files we hold. No per-file
// checksum of the CIFAR-100 binary files could be confirmed anywhere, so none is listed: those files are
// verified against the official archive itself, kept in the cache and checked by its MD5 (see integrity.ts).
const CIFAR10_TRAIN_MD5 = [
  '5dd7e06a14cb22eb9f671a540d1b7c25',
  '5ea93a67294ea407fff1d09f752e9692',
  '942cd6a4bcdd0dd3c604fbe906cb4421',
  'ae636b3ba5c66a11e91e8cb52e771fcb',
  '53f37980c15c3d472c316c40844f3f0d',
];
const CIFAR10_TEST_MD5 = '803d5f7f4d78ea53de84dbe85f74fb6d';

export const DATASETS: Record<CifarName, DatasetSpec> = {
  cifar10: {
    name: 'cifar10',
    title: 'CIFAR-10',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    archiveName: 'cifar-10-binary.tar.gz',
    archiveBytes: 170_052_171,
    archiveMd5: 'c32a1d4ab5d03f1284b67883e8d87530',
    folder: 'cifar-10-batches-bin',
    dirEnv: 'RESNET_CIFAR10_DIR',
    labelBytes: 1,
    trainFiles: CIFAR10_TRAIN_MD5.map((md5, i) => ({ name: `data_batch_${i + 1}.bin`, md5 })),
    testFiles: [{ name: 'test_batch.bin', md5: CIFAR10_TEST_MD5 }],
    officialRecords: { train: 50_000, test: 10_000 },
    nameFiles: { fine: 'batches.meta.txt' },
    classes: { fine: 10 },
    members: [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
      'batches.meta.txt',
      'readme.html',
    ],
  },
  cifar100: {
    name: 'cifar100',
    title: 'CIFAR-100',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    archiveName: 'cifar-100-binary.tar.gz',
    archiveBytes: 168_513_733,
    archiveMd5: '03b5dce01913d631647c71ecec9e9cb8',
    folder: 'cifar-100-binary',
    dirEnv: 'RESNET_CIFAR100_DIR',
    labelBytes: 2,
    trainFiles: [{ name: 'train.bin' }],
    testFiles: [{ name: 'test.bin' }],
    officialRecords: { train: 50_000, test: 10_000 },
    nameFiles: { fine: 'fine_label_names.txt', coarse: 'coarse_label_names.txt' },
    classes: { fine: 100, coarse: 20 },
    members: ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt'],
  },
};

/** The spec of a dataset, or a clear error for an unknown name. */
export function datasetSpec(name: string): DatasetSpec {
  const spec = DATASETS[name as CifarName];
  if (!spec) throw new Error(`unknown dataset '${name}': expected 'cifar10' or 'cifar100'`);
  return spec;
}

/** Bytes in one record of the dataset's binary files. */
export function recordBytes(spec: DatasetSpec): number {
  return spec.labelBytes + PIXELS;
}

/** Files a dataset folder must contain to be read. */
export function requiredFiles(spec: DatasetSpec): string[] {
  const names = [...spec.trainFiles, ...spec.testFiles].map((f) => f.name);
  names.push(spec.nameFiles.fine);
  if (spec.nameFiles.coarse) names.push(spec.nameFiles.coarse);
  return names;
}
