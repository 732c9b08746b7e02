// loadCifar: finds the dataset (an explicit folder, an environment variable, the cache, or a download),
// reads it, checks every data file against the official checksums (or against the official archive kept in
// the cache, for files with no published checksum), refuses files that are not the official ones unless told
// otherwise, and splits off a validation set when asked.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { checkFiles, type DataFileCheck, describeProblems, isOfficial } from './checks.js';
import { type CifarName, type DatasetSpec, datasetSpec } from './datasets.js';
import { DownloadError, downloadFile, md5File } from './download.js';
import { CifarDataError, type DataOrigin } from './errors.js';
import { extractDataset, missingFiles } from './extract.js';
import { officialArchiveFiles, readManifest } from './integrity.js';
import { resolveCacheDir } from './paths.js';
import { type CifarSplit, type LabelKind, readClassNames, readSplit } from './read.js';
import { holdOut } from './split.js';

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
  /** Expected MD5 of the archive at `url`; default the official archive's (unless `allowUnofficial`). */
  md5?: string;
  /** CIFAR-100 only: 'fine' (100 classes, the default) or 'coarse' (20 superclasses). */
  labels?: LabelKind;
  /**
   * Use data files that differ from the official ones or that nothing can vouch for (a test set rebuilt from
   * another source, a cut file, generated data, a mirror's archive without its MD5). Default false: such a
   * file is refused with a {@link CifarDataError} of code `unofficial`. Either way `CifarData.files` says
   * what each file is, with its SHA-256, so a run can record exactly what it trained and was tested on.
   */
  allowUnofficial?: boolean;
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
  /** Every data file read (training files, then test files): records, SHA-256, MD5 and what its check found. */
  files: DataFileCheck[];
  /** True when every data file is verified as the official one. */
  official: boolean;
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

interface Found {
  folder: string;
  origin: DataOrigin;
}

async function findFolder(options: LoadCifarOptions, spec: DatasetSpec): Promise<Found> {
  const holdsNeither = async (where: string, dir: string) => {
    const info = await stat(dir).catch(() => undefined);
    if (!info) return `${where} does not exist.`;
    if (!info.isDirectory())
      return `${where} is a file, not a folder: give the folder that holds the ${spec.title} files.`;
    return `${where} holds neither the ${spec.title} binary files (${spec.trainFiles[0]!.name}, …) nor a ${spec.folder}/ folder with them.`;
  };
  if (options.dataDir) {
    const found = await locate(options.dataDir, spec);
    if (!found) {
      throw new CifarDataError({
        dataset: spec.name,
        code: 'not-found',
        origin: 'dataDir',
        folder: options.dataDir,
        detail: await holdsNeither(options.dataDir, options.dataDir),
        hint: `Pass as dataDir the extracted ${spec.folder}/ folder or its parent.`,
      });
    }
    return { folder: found, origin: 'dataDir' };
  }
  // Explicit options beat environment variables: a cacheDir given in code is used even when the variable is set.
  const fromEnv = options.cacheDir ? undefined : process.env[spec.dirEnv];
  if (fromEnv) {
    const found = await locate(fromEnv, spec);
    if (!found) {
      throw new CifarDataError({
        dataset: spec.name,
        code: 'not-found',
        origin: 'env',
        folder: fromEnv,
        detail: await holdsNeither(`${spec.dirEnv}=${fromEnv}`, fromEnv),
        hint: `Point ${spec.dirEnv} at the extracted ${spec.folder}/ folder or its parent, or unset it.`,
      });
    }
    return { folder: found, origin: 'env' };
  }
  const cacheDir = resolveCacheDir(options.cacheDir);
  const cached = join(cacheDir, spec.folder);
  // The folder only appears by a rename once extraction finished, so its presence means it is complete.
  if (await isFile(join(cached, spec.trainFiles[0]!.name))) return { folder: cached, origin: 'cache' };
  const url = options.url ?? spec.url;
  if (options.download === false) {
    throw new CifarDataError({
      dataset: spec.name,
      code: 'not-found',
      origin: 'cache',
      folder: cached,
      detail: `${spec.title} is not in ${cached} and downloading is turned off.`,
      hint: `${localCopyHelp(spec)}, or allow the download from ${url}.`,
    });
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
    if (await isFile(join(cached, spec.trainFiles[0]!.name))) return { folder: cached, origin: 'cache' };
    return { folder: await downloadAndExtract(options, spec, cacheDir, url), origin: 'cache' };
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
  const archive = join(cacheDir, spec.archiveName);
  const md5 = options.md5 ?? (options.allowUnofficial ? undefined : spec.archiveMd5);
  try {
    await downloadFile({
      url,
      dest: archive,
      ...(md5 ? { md5 } : {}),
      bytes: url === spec.url ? spec.archiveBytes : undefined,
      progress: options.progress,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      label: spec.title,
    });
  } catch (error) {
    if (!(error instanceof DownloadError)) throw error;
    const cause = error.status === undefined ? ' (offline, or the server cannot be reached?)' : '';
    throw new CifarDataError({
      dataset: spec.name,
      code: 'download-failed',
      origin: 'cache',
      folder: join(cacheDir, spec.folder),
      detail: `Could not download ${spec.title} from ${url}: ${error.reason}${cause}.`,
      hint: `${localCopyHelp(spec)}; or download ${spec.archiveName} yourself and put it at ${archive}, where it is checked and extracted on the next run.`,
      cause: error,
    });
  }
  const folder = await extractDataset(archive, cacheDir, spec);
  // The extracted files are what is read from now on. The official archive of a dataset whose files have no
  // published checksum is kept: it is what vouches for them (see integrity.ts); any other would only double
  // the disk use.
  const hasFileChecksums = [...spec.trainFiles, ...spec.testFiles].every((f) => f.md5 !== undefined);
  const official = md5 === spec.archiveMd5 || (await md5File(archive)) === spec.archiveMd5;
  if (hasFileChecksums || !official) await rm(archive, { force: true });
  return folder;
}

/** What to do about a bad file, by where its folder came from: never "delete it" of the user's own folder. */
function repairHint(spec: DatasetSpec, found: Found): string {
  return found.origin === 'cache'
    ? `Delete ${found.folder} to have loadCifar download and extract the official archive again.`
    : `Replace it with the file from the official ${spec.archiveName}.`;
}

function unofficialHint(spec: DatasetSpec, found: Found, files: DataFileCheck[], cacheDir: string): string {
  const parts = [
    "To use these files anyway, pass allowUnofficial: true (data.files then lists each file's SHA-256 and origin, for your records).",
  ];
  if (found.origin === 'cache') parts.push(repairHint(spec, found));
  else if (files.some((f) => f.origin === 'unverifiable')) {
    parts.push(
      `Or let loadCifar fetch the official ${spec.archiveName} into its cache (leave dataDir and ${spec.dirEnv} unset), or put that archive in the cache yourself (${cacheDir}): it is checked against its official MD5, and files are compared with the ones it holds.`,
    );
  }
  return parts.join(' ');
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
  const found = await findFolder(options, spec);
  const source = found.folder;
  const withHint = (error: unknown): never => {
    if (error instanceof CifarDataError && error.code === 'malformed') {
      throw new CifarDataError({
        dataset: spec.name,
        code: 'malformed',
        origin: found.origin,
        folder: source,
        detail: error.detail,
        hint: repairHint(spec, found),
      });
    }
    throw error;
  };
  const missing = await missingFiles(source, spec);
  if (missing.length > 0) {
    withHint(
      new CifarDataError({
        dataset: spec.name,
        code: 'malformed',
        detail: `${source} lacks ${missing.join(', ')}: it is not a complete ${spec.folder}/ folder.`,
        hint: '',
      }),
    );
  }
  const read = (split: 'train' | 'test') =>
    readSplit({
      dir: source,
      files: split === 'train' ? spec.trainFiles : spec.testFiles,
      split,
      spec,
      labels,
      numClasses,
    }).catch(withHint);
  const classNames = await readClassNames(join(source, nameFile), numClasses).catch(withHint);
  const trainRead = await read('train');
  const testRead = await read('test');
  const needsArchive = [...spec.trainFiles, ...spec.testFiles].some((f) => f.md5 === undefined);
  const archive = needsArchive
    ? await officialArchiveFiles(join(resolveCacheDir(options.cacheDir), spec.archiveName), spec)
    : undefined;
  const files = checkFiles(spec, [...trainRead.files, ...testRead.files], {
    archive,
    manifest: await readManifest(source),
  });
  const official = files.every((f) => isOfficial(f.origin));
  if (!official && !options.allowUnofficial) {
    throw new CifarDataError({
      dataset: spec.name,
      code: 'unofficial',
      origin: found.origin,
      folder: source,
      files,
      detail: describeProblems(files, (name) => join(source, name)),
      hint: unofficialHint(spec, found, files, resolveCacheDir(options.cacheDir)),
    });
  }
  let train = trainRead.split;
  const test = testRead.split;
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
    files,
    official,
  };
}
