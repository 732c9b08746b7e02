// Writes small generated datasets in the official CIFAR-10 / CIFAR-100 binary formats (and their .tar.gz
// archives) for tests and smoke runs; the bytes come from synthetic-files.ts. The folder is generated in a temporary folder, its manifest
// (settings and each file's SHA-256) written last, and renamed into place: a generation killed part-way
// leaves no folder under the final name, and an existing folder counts as done only if its manifest says it
// was generated with the same settings and its files still match.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import type { Manifest } from './checks.js';
import { type CifarName, datasetSpec } from './datasets.js';
import { describeFiles, readManifest, writeManifest } from './integrity.js';
import { type SyntheticFilesOptions, syntheticCifarFiles, syntheticSettings } from './synthetic-files.js';
import { removeStaleTemps, tempName } from './temp.js';

/** Options of {@link writeSyntheticCifar}. */
export interface SyntheticCifarOptions extends SyntheticFilesOptions {
  /** Folder in which the dataset folder (`cifar-10-batches-bin/` or `cifar-100-binary/`) is written. */
  dir: string;
  /** Also write the `.tar.gz` archive the dataset's home page serves, next to the folder. */
  archive?: boolean;
}

/** Whether `folder` holds a complete generated dataset with these settings (its manifest says so, and the files match it). */
async function isComplete(
  folder: string,
  dataset: CifarName,
  settings: NonNullable<Manifest['synthetic']>,
): Promise<boolean> {
  const manifest = await readManifest(folder);
  if (manifest?.origin !== 'synthetic' || manifest.dataset !== dataset) return false;
  if (JSON.stringify(manifest.synthetic) !== JSON.stringify(settings)) return false;
  try {
    const now = await describeFiles(folder, Object.keys(manifest.files));
    return Object.entries(manifest.files).every(([name, entry]) => now[name]?.sha256 === entry.sha256);
  } catch {
    return false;
  }
}

/**
 * Writes a synthetic dataset in the official binary layout under `dir` and returns the dataset folder (and the
 * archive when asked). A folder already generated there with the same settings is kept; any other folder of
 * that name (another generation's, or one left incomplete) is replaced. Its files are not the official ones:
 * read it with `allowUnofficial: true` (loadCifar reports them as `synthetic`).
 */
export async function writeSyntheticCifar(
  options: SyntheticCifarOptions,
): Promise<{ dir: string; archive?: string }> {
  const spec = datasetSpec(options.dataset);
  const settings = syntheticSettings(options);
  const folder = join(options.dir, spec.folder);
  if (!(await isComplete(folder, spec.name, settings))) {
    await mkdir(options.dir, { recursive: true });
    await removeStaleTemps(options.dir);
    const work = await mkdtemp(join(options.dir, tempName(`synthetic-${spec.folder}`)));
    try {
      await generate(work, spec.name, settings);
      await moveIntoPlace(work, folder, () => isComplete(folder, spec.name, settings));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  if (!options.archive) return { dir: folder };
  const archive = join(options.dir, spec.archiveName);
  const temp = join(options.dir, tempName(spec.archiveName, true));
  try {
    await tar.c({ gzip: true, file: temp, cwd: options.dir, portable: true }, [spec.folder]);
    await rename(temp, archive);
  } finally {
    await rm(temp, { force: true });
  }
  return { dir: folder, archive };
}

/**
 * Renames the finished `work` folder to `target`. An existing `target` is moved aside first (a rename cannot
 * replace a non-empty folder) unless another process has meanwhile put a complete one there.
 */
async function moveIntoPlace(work: string, target: string, done: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(work, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 3) throw error;
    }
    if (await done()) return;
    const aside = `${work}-old`;
    await rename(target, aside).catch(() => {});
    await rm(aside, { recursive: true, force: true });
  }
}

/** Writes every file of the generated dataset into `folder`, then its manifest. */
async function generate(
  folder: string,
  dataset: CifarName,
  settings: NonNullable<Manifest['synthetic']>,
): Promise<void> {
  const files = syntheticCifarFiles({ dataset, ...settings });
  for (const [name, bytes] of files) await writeFile(join(folder, name), bytes);
  await writeManifest(folder, {
    version: 1,
    dataset,
    origin: 'synthetic',
    synthetic: settings,
    files: await describeFiles(folder, [...files.keys()]),
  });
}
