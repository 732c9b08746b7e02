// Generates small datasets in the official CIFAR-10 / CIFAR-100 binary formats (and their .tar.gz archives)
// for tests and smoke runs. Each class has its own colour and stripe direction plus noise, so a network can
// learn it and a smoke run's loss goes down. The folder is generated in a temporary folder, its manifest
// (settings and each file's SHA-256) written last, and renamed into place: a generation killed part-way
// leaves no folder under the final name, and an existing folder counts as done only if its manifest says it
// was generated with the same settings and its files still match.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import * as tar from 'tar';
import { type CifarName, datasetSpec, IMAGE_SIZE, PIXELS, recordBytes } from './datasets.js';
import { describeFiles, type Manifest, readManifest, writeManifest } from './integrity.js';
import { removeStaleTemps, tempName } from './temp.js';

/** Options of {@link writeSyntheticCifar}. */
export interface SyntheticCifarOptions {
  dataset: CifarName;
  /** Folder in which the dataset folder (`cifar-10-batches-bin/` or `cifar-100-binary/`) is written. */
  dir: string;
  /** Training images (default 500; CIFAR-10 spreads them over its five batch files). */
  trainCount?: number;
  /** Test images (default 100). */
  testCount?: number;
  seed?: number;
  /** Also write the `.tar.gz` archive the dataset's home page serves, next to the folder. */
  archive?: boolean;
}

const PLANE = IMAGE_SIZE * IMAGE_SIZE;

/** Records for `count` images with balanced, shuffled labels drawn from `classes`. */
function makeRecords(count: number, labelBytes: number, classes: number, rng: () => number): Uint8Array {
  const record = labelBytes + PIXELS;
  const out = new Uint8Array(count * record);
  const labels = Array.from({ length: count }, (_, i) => i % classes);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  for (let i = 0; i < count; i++) {
    const label = labels[i]!;
    const at = i * record;
    if (labelBytes === 2) {
      // Five fine classes per coarse class, as in CIFAR-100 (where the grouping is by meaning).
      out[at] = Math.floor(label / 5);
      out[at + 1] = label;
    } else {
      out[at] = label;
    }
    const hue = (2 * Math.PI * label) / classes;
    const angle = (Math.PI * (label % 4)) / 4;
    const period = 4 + (label % 5) * 2;
    const shift = rng() * period;
    for (let y = 0; y < IMAGE_SIZE; y++) {
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const stripe =
          45 * Math.sin((2 * Math.PI * (x * Math.cos(angle) + y * Math.sin(angle) + shift)) / period);
        for (let c = 0; c < 3; c++) {
          const base = 128 + 70 * Math.cos(hue + (2 * Math.PI * c) / 3);
          const value = base + stripe + (rng() - 0.5) * 50;
          out[at + labelBytes + c * PLANE + y * IMAGE_SIZE + x] = Math.max(
            0,
            Math.min(255, Math.round(value)),
          );
        }
      }
    }
  }
  return out;
}

/** Names of the generated classes (written to the names files). */
function classNames(prefix: string, n: number): string {
  return Array.from({ length: n }, (_, i) => `${prefix}_${i}`).join('\n') + '\n';
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
  const trainCount = options.trainCount ?? 500;
  const testCount = options.testCount ?? 100;
  const files = spec.trainFiles.length;
  if (!Number.isInteger(trainCount) || trainCount < files) {
    throw new Error(
      `trainCount must be a whole number of at least ${files} for ${spec.title}; got ${trainCount}`,
    );
  }
  if (!Number.isInteger(testCount) || testCount < 1) {
    throw new Error(`testCount must be a positive whole number; got ${testCount}`);
  }
  const settings = { trainCount, testCount, seed: options.seed ?? 0 };
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

/** Generates every file of the dataset into `folder`, then its manifest. */
async function generate(
  folder: string,
  dataset: CifarName,
  settings: NonNullable<Manifest['synthetic']>,
): Promise<void> {
  const spec = datasetSpec(dataset);
  const { trainCount, testCount } = settings;
  const files = spec.trainFiles.length;
  const rng = seedrandom.alea(`synthetic:${settings.seed}`);
  const classes = spec.classes.fine;
  const record = recordBytes(spec);
  const train = makeRecords(trainCount, spec.labelBytes, classes, rng);
  const names: string[] = [];
  const write = async (name: string, data: Uint8Array | string) => {
    await writeFile(join(folder, name), data);
    names.push(name);
  };
  let start = 0;
  for (const [i, file] of spec.trainFiles.entries()) {
    const count = Math.floor(trainCount / files) + (i < trainCount % files ? 1 : 0);
    await write(file.name, train.subarray(start * record, (start + count) * record));
    start += count;
  }
  await write(spec.testFiles[0]!.name, makeRecords(testCount, spec.labelBytes, classes, rng));
  await write(spec.nameFiles.fine, classNames('synthetic_class', classes));
  if (spec.nameFiles.coarse && spec.classes.coarse) {
    await write(spec.nameFiles.coarse, classNames('synthetic_superclass', spec.classes.coarse));
  }
  await writeManifest(folder, {
    version: 1,
    dataset,
    origin: 'synthetic',
    synthetic: settings,
    files: await describeFiles(folder, names),
  });
}
