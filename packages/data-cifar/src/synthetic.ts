// Generates small datasets in the official CIFAR-10 / CIFAR-100 binary formats (and their .tar.gz archives)
// for tests and smoke runs. Each class has its own colour and stripe direction plus noise, so a network can
// learn it and a smoke run's loss goes down.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import * as tar from 'tar';
import { type CifarName, datasetSpec, IMAGE_SIZE, PIXELS, recordBytes } from './datasets.js';

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

/** Writes `data` to `path` through a temporary file, so a half-written file never carries the final name. */
async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, data);
  await rename(temp, path);
}

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
function names(prefix: string, n: number): string {
  return Array.from({ length: n }, (_, i) => `${prefix}_${i}`).join('\n') + '\n';
}

/**
 * Writes a synthetic dataset in the official binary layout under `dir` and returns the dataset folder (and the
 * archive when asked). Its files are not the official ones: read it with `verify: false`.
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
  const rng = seedrandom.alea(`synthetic:${options.seed ?? 0}`);
  const folder = join(options.dir, spec.folder);
  await mkdir(folder, { recursive: true });
  const classes = spec.classes.fine;
  const record = recordBytes(spec);
  const train = makeRecords(trainCount, spec.labelBytes, classes, rng);
  let start = 0;
  for (const [i, file] of spec.trainFiles.entries()) {
    const count = Math.floor(trainCount / files) + (i < trainCount % files ? 1 : 0);
    await writeAtomic(join(folder, file.name), train.subarray(start * record, (start + count) * record));
    start += count;
  }
  await writeAtomic(
    join(folder, spec.testFiles[0]!.name),
    makeRecords(testCount, spec.labelBytes, classes, rng),
  );
  await writeAtomic(join(folder, spec.nameFiles.fine), names('synthetic_class', classes));
  if (spec.nameFiles.coarse && spec.classes.coarse) {
    await writeAtomic(
      join(folder, spec.nameFiles.coarse),
      names('synthetic_superclass', spec.classes.coarse),
    );
  }
  if (!options.archive) return { dir: folder };
  const archive = join(options.dir, spec.archiveName);
  const temp = `${archive}.tmp-${process.pid}`;
  await tar.c({ gzip: true, file: temp, cwd: options.dir, portable: true }, [spec.folder]);
  await rename(temp, archive);
  return { dir: folder, archive };
}
