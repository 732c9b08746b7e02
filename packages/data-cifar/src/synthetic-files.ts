// Generated datasets in the official CIFAR-10 / CIFAR-100 binary formats, in memory: each class has its own
// colour and stripe direction plus noise, so a network can learn it and a smoke run's loss goes down. Runs
// anywhere (no file system): writeSyntheticCifar (synthetic.ts) writes these bytes to a folder in Node, and a
// browser page hands them to cifarFromBuffers; the same settings give the same bytes in both.
import seedrandom from 'seedrandom';
import { type CifarName, datasetSpec, IMAGE_SIZE, PIXELS, recordBytes } from './datasets.js';

/** Options of {@link syntheticCifarFiles}. */
export interface SyntheticFilesOptions {
  dataset: CifarName;
  /** Training images (default 500; CIFAR-10 spreads them over its five batch files). */
  trainCount?: number;
  /** Test images (default 100). */
  testCount?: number;
  /** Default 0. */
  seed?: number;
}

/** The settings a generated dataset is made from, defaults filled in. */
export interface SyntheticSettings {
  trainCount: number;
  testCount: number;
  seed: number;
}

/** The options' settings with defaults, or an error naming the count that cannot be generated. */
export function syntheticSettings(options: SyntheticFilesOptions): SyntheticSettings {
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
  return { trainCount, testCount, seed: options.seed ?? 0 };
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

/**
 * The files of a generated dataset folder, by name, in the folder's order: the training batch files, the
 * test file and the class-name file(s), in the dataset's official layout (no manifest: writeSyntheticCifar
 * adds one on disk).
 */
export function syntheticCifarFiles(options: SyntheticFilesOptions): Map<string, Uint8Array> {
  const spec = datasetSpec(options.dataset);
  const { trainCount, testCount, seed } = syntheticSettings(options);
  const files = spec.trainFiles.length;
  const rng = seedrandom.alea(`synthetic:${seed}`);
  const classes = spec.classes.fine;
  const record = recordBytes(spec);
  const train = makeRecords(trainCount, spec.labelBytes, classes, rng);
  const out = new Map<string, Uint8Array>();
  let start = 0;
  for (const [i, file] of spec.trainFiles.entries()) {
    const count = Math.floor(trainCount / files) + (i < trainCount % files ? 1 : 0);
    out.set(file.name, train.subarray(start * record, (start + count) * record));
    start += count;
  }
  out.set(spec.testFiles[0]!.name, makeRecords(testCount, spec.labelBytes, classes, rng));
  const text = new TextEncoder();
  out.set(spec.nameFiles.fine, text.encode(classNames('synthetic_class', classes)));
  if (spec.nameFiles.coarse && spec.classes.coarse) {
    out.set(spec.nameFiles.coarse, text.encode(classNames('synthetic_superclass', spec.classes.coarse)));
  }
  return out;
}
