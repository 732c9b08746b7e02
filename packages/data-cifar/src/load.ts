// loadCifar: finds the dataset (an explicit folder, an environment variable, the cache, or a download),
// reads and checks it, and splits off a validation set when asked.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import seedrandom from 'seedrandom';
import { type CifarName, type DatasetSpec, datasetSpec, PIXELS } from './datasets.js';
import { DownloadError, downloadFile } from './download.js';
import { extractDataset, missingFiles } from './extract.js';
import { resolveCacheDir } from './paths.js';
import { type CifarSplit, type LabelKind, readClassNames, readSplit } from './read.js';

/** Options of {@link loadCifar}. */
export interface LoadCifarOptions {
  dataset: CifarName;
  /**
   * A local copy of the extracted folder (`cifar-10-batches-bin/` or `cifar-100-binary/`), or a folder that
   * contains it. Overrides `$RESNET_CIFAR10_DIR` / `$RESNET_CIFAR100_DIR` and the cache.
   */
  dataDir?: string;
  /** Where downloads and extracted datasets are kept; default `$RESNET_DATA_DIR`, else the per-user cache. */
  cacheDir?: string;
  /** Download the archive when the dataset is not found (default true). */
  download?: boolean;
  /** Archive URL (a mirror); default the dataset's home page. */
  url?: string;
  /** Expected MD5 of the archive at `url`; default the official archive's (checked unless `verify` is false). */
  md5?: string;
  /** CIFAR-100 only: 'fine' (100 classes, the default) or 'coarse' (20 superclasses). */
  labels?: LabelKind;
  /**
   * Check the official MD5s: the archive's, and each extracted file's where known (default true). Turn off for
   * a copy you trust that differs from the official files (a mirror, generated data).
   */
  verify?: boolean;
  /** Hold out `size` training images, chosen at random with `seed`, as a validation split. */
  validation?: { size: number; seed: number };
  /** Progress bar while downloading (default: only when stderr is a terminal). */
  progress?: boolean;
  /** Download retries after network failures (default 4), each resuming where the last stopped. */
  retries?: number;
  /** Wait before the first retry in milliseconds, doubled each time (default 1000). */
  retryDelayMs?: number;
}

export interface CifarData {
  dataset: CifarName;
  /** Which labels the splits hold. */
  labels: LabelKind;
  classNames: string[];
  numClasses: number;
  /** Training images (without the validation images, when a validation split was asked for). */
  train: CifarSplit;
  test: CifarSplit;
  validation?: CifarSplit;
  /** The folder the files were read from. */
  source: string;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** `dir` itself when it holds the dataset's files, else `dir/<folder>` when that does, else undefined. */
async function locate(dir: string, spec: DatasetSpec): Promise<string | undefined> {
  const first = spec.trainFiles[0]!.name;
  if (await isFile(join(dir, first))) return dir;
  if (await isFile(join(dir, spec.folder, first))) return join(dir, spec.folder);
  return undefined;
}

function localCopyHelp(spec: DatasetSpec): string {
  return `To use a local copy, pass { dataDir: '/path/to/${spec.folder}' } or set ${spec.dirEnv}=/path/to/${spec.folder}`;
}

async function findFolder(options: LoadCifarOptions, spec: DatasetSpec): Promise<string> {
  if (options.dataDir) {
    const found = await locate(options.dataDir, spec);
    if (!found) {
      throw new Error(
        `dataDir ${options.dataDir} holds neither the ${spec.title} binary files (${spec.trainFiles[0]!.name}, …) nor a ${spec.folder}/ folder with them`,
      );
    }
    return found;
  }
  // Explicit options beat environment variables: a cacheDir given in code is used even when the variable is set.
  const fromEnv = options.cacheDir ? undefined : process.env[spec.dirEnv];
  if (fromEnv) {
    const found = await locate(fromEnv, spec);
    if (!found) {
      throw new Error(
        `${spec.dirEnv}=${fromEnv} holds neither the ${spec.title} binary files nor a ${spec.folder}/ folder with them`,
      );
    }
    return found;
  }
  const cacheDir = resolveCacheDir(options.cacheDir);
  const cached = join(cacheDir, spec.folder);
  // The folder only appears by a rename once extraction finished, so its presence means it is complete.
  if (await isFile(join(cached, spec.trainFiles[0]!.name))) return cached;
  const url = options.url ?? spec.url;
  if (options.download === false) {
    throw new Error(
      `${spec.title} is not in ${cached} and downloading is turned off. ${localCopyHelp(spec)}, or allow the download from ${url}.`,
    );
  }
  await mkdir(cacheDir, { recursive: true });
  // One download per cache folder at a time: parallel runs (several seeds of one experiment) wait for the
  // first one and then read what it extracted. The lock is a folder whose age is refreshed while held, so a
  // crashed process's lock goes stale after 30 s.
  const release = await lockfile.lock(cached, {
    realpath: false,
    lockfilePath: `${cached}.lock`,
    stale: 30_000,
    retries: { forever: true, minTimeout: 200, maxTimeout: 2000 },
    // Losing the lock (a stalled event loop) is not fatal: the checksum still guards what is written.
    onCompromised: () => {},
  });
  try {
    if (await isFile(join(cached, spec.trainFiles[0]!.name))) return cached;
    return await downloadAndExtract(options, spec, cacheDir, url);
  } finally {
    await release().catch(() => {});
  }
}

async function downloadAndExtract(
  options: LoadCifarOptions,
  spec: DatasetSpec,
  cacheDir: string,
  url: string,
): Promise<string> {
  const verify = options.verify ?? true;
  const archive = join(cacheDir, spec.archiveName);
  try {
    await downloadFile({
      url,
      dest: archive,
      md5: options.md5 ?? (verify ? spec.archiveMd5 : undefined),
      bytes: url === spec.url ? spec.archiveBytes : undefined,
      progress: options.progress,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      label: spec.title,
    });
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    const cause = error.status === undefined ? ' (offline, or the server cannot be reached?)' : '';
    throw new Error(
      `Could not download ${spec.title} from ${url}: ${error.reason}${cause}. ${localCopyHelp(spec)}; or download ${spec.archiveName} yourself and put it at ${archive}, where it is checked and extracted on the next run.`,
      { cause: error },
    );
  }
  const folder = await extractDataset(archive, cacheDir, spec);
  // The extracted files are what is read from now on; the archive would only double the disk use.
  await rm(archive, { force: true });
  return folder;
}

/** Splits `split` into (rest, held out) with `size` images chosen at random; both keep the files' order. */
export function holdOut(
  split: CifarSplit,
  size: number,
  seed: number,
): { rest: CifarSplit; held: CifarSplit } {
  if (!Number.isInteger(size) || size <= 0 || size >= split.size) {
    throw new Error(`validation size must be a whole number between 1 and ${split.size - 1}; got ${size}`);
  }
  const rng = seedrandom.alea(`validation:${seed}`);
  const order = Int32Array.from({ length: split.size }, (_, i) => i);
  for (let i = split.size - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const heldMask = new Uint8Array(split.size);
  for (let i = 0; i < size; i++) heldMask[order[i]!] = 1;
  const take = (want: number, count: number): CifarSplit => {
    const images = new Uint8Array(count * PIXELS);
    const labels = new Uint8Array(count);
    let k = 0;
    for (let i = 0; i < split.size; i++) {
      if (heldMask[i] !== want) continue;
      images.set(split.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
      labels[k++] = split.labels[i]!;
    }
    return { images, labels, size: count };
  };
  return { rest: take(0, split.size - size), held: take(1, size) };
}

/**
 * Loads CIFAR-10 or CIFAR-100: from `dataDir`, the dataset's environment variable, the cache, or (when none has
 * it) by downloading and extracting the official archive into the cache.
 */
export async function loadCifar(options: LoadCifarOptions): Promise<CifarData> {
  const spec = datasetSpec(options.dataset);
  const labels: LabelKind = options.labels ?? 'fine';
  if (labels !== 'fine' && labels !== 'coarse')
    throw new Error(`labels must be 'fine' or 'coarse'; got ${labels}`);
  if (labels === 'coarse' && !spec.classes.coarse) {
    throw new Error(`${spec.title} has only one kind of label; labels: 'coarse' is for CIFAR-100`);
  }
  const numClasses = labels === 'coarse' ? spec.classes.coarse! : spec.classes.fine;
  const nameFile = labels === 'coarse' ? spec.nameFiles.coarse! : spec.nameFiles.fine;
  const source = await findFolder(options, spec);
  const missing = await missingFiles(source, spec);
  if (missing.length > 0)
    throw new Error(`${source} lacks ${missing.join(', ')}: it is not a complete ${spec.folder}/ folder`);
  const verify = options.verify ?? true;
  const read = (files: typeof spec.trainFiles) =>
    readSplit({ dir: source, files, spec, labels, numClasses, verify });
  const classNames = await readClassNames(join(source, nameFile), numClasses);
  let train = await read(spec.trainFiles);
  const test = await read(spec.testFiles);
  let validation: CifarSplit | undefined;
  if (options.validation) {
    const { rest, held } = holdOut(train, options.validation.size, options.validation.seed);
    train = rest;
    validation = held;
  }
  return {
    dataset: spec.name,
    labels,
    classNames,
    numClasses,
    train,
    test,
    ...(validation ? { validation } : {}),
    source,
  };
}
