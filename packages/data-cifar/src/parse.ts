// Parses the CIFAR binary formats from bytes in memory: records of label byte(s) then 3072 pixel bytes (red
// plane, green, blue, each row-major), and the class-name files. Runs anywhere (no file system): the Node
// reader (read.ts) feeds it chunks of files, a browser feeds it fetched buffers (cifarFromBuffers).
import { type CifarName, type DatasetSpec, datasetSpec, PIXELS, recordBytes } from './datasets.js';
import { CifarDataError } from './errors.js';

/** Images and labels of one split. */
export interface CifarSplit {
  /**
   * `size` images of 3072 bytes each, as in the files: for image i, bytes `i*3072 … i*3072+1023` are the red
   * plane (row-major 32×32), then green, then blue (CHW).
   */
  images: Uint8Array;
  /** One label per image. */
  labels: Uint8Array;
  /** Number of images. */
  size: number;
}

/** Which label to read from CIFAR-100 records (CIFAR-10 has only one). */
export type LabelKind = 'fine' | 'coarse';

/** A file that is not a readable CIFAR binary file (the caller adds what to do about it). */
export function malformed(detail: string): CifarDataError {
  return new CifarDataError({ code: 'malformed', detail, hint: '' });
}

/** Records in `bytes` bytes of a file named `name`, or an error naming the cut-short record. */
export function recordCount(bytes: number, spec: DatasetSpec, name: string): number {
  const record = recordBytes(spec);
  if (bytes === 0) throw malformed(`${name} is empty; expected records of ${record} bytes.`);
  if (bytes % record !== 0) {
    const whole = Math.floor(bytes / record);
    throw malformed(
      `${name} has ${bytes} bytes, not a whole number of ${record}-byte ${spec.title} records: record ${whole} (counting from 0) has only ${bytes % record} bytes. The file is truncated or not a ${spec.title} binary file.`,
    );
  }
  return bytes / record;
}

export interface ParseTarget {
  spec: DatasetSpec;
  labels: LabelKind;
  numClasses: number;
  images: Uint8Array;
  labelsOut: Uint8Array;
}

/**
 * Copies `count` whole records from `chunk` into `target` at image `index`, checking every label's range.
 * `name` and `first` (the chunk's first record in its file) name a bad record in the error.
 */
export function parseRecordsInto(
  chunk: Uint8Array,
  count: number,
  target: ParseTarget,
  index: number,
  name: string,
  first: number,
): void {
  const { spec, numClasses } = target;
  const record = recordBytes(spec);
  // CIFAR-100 records carry the coarse label first, then the fine one.
  const labelOffset = spec.labelBytes === 2 && target.labels === 'fine' ? 1 : 0;
  for (let r = 0; r < count; r++) {
    const at = r * record;
    const label = chunk[at + labelOffset]!;
    if (label >= numClasses) {
      throw malformed(
        `${name}: record ${first + r} (counting from 0) has ${target.labels} label ${label}, outside 0–${numClasses - 1}. The file is damaged or not a ${spec.title} binary file.`,
      );
    }
    target.labelsOut[index + r] = label;
    target.images.set(chunk.subarray(at + spec.labelBytes, at + record), (index + r) * PIXELS);
  }
}

/** Class names, one per non-empty line, in label order. */
export function parseClassNames(text: string, expected: number, name: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== expected) {
    throw malformed(`${name} lists ${names.length} class names; expected ${expected}, one per line.`);
  }
  return names;
}

/** Options of {@link cifarFromBuffers}. */
export interface CifarFromBuffersOptions {
  dataset: CifarName;
  /** The training files' bytes, in order (CIFAR-10: data_batch_1 … 5, or any subset; CIFAR-100: train.bin). */
  train: Uint8Array | readonly Uint8Array[];
  /** The test file's bytes. */
  test: Uint8Array | readonly Uint8Array[];
  /** CIFAR-100 only: 'fine' (default) or 'coarse'. */
  labels?: LabelKind;
  /** The class-name file's text (batches.meta.txt, fine_label_names.txt, coarse_label_names.txt), if at hand. */
  classNames?: string;
}

/** Splits parsed from memory, as {@link cifarFromBuffers} returns them. */
export interface CifarBuffers {
  dataset: CifarName;
  labels: LabelKind;
  numClasses: number;
  classNames?: string[];
  train: CifarSplit;
  test: CifarSplit;
}

/**
 * Parses CIFAR binary files already in memory (fetched in a browser, read by any means) into the splits that
 * trainBatches and evalBatches take. Checks record sizes and label ranges; no checksum (that needs the whole
 * files and a hash function: see loadCifar in Node).
 */
export function cifarFromBuffers(options: CifarFromBuffersOptions): CifarBuffers {
  const spec = datasetSpec(options.dataset);
  const labels: LabelKind = options.labels ?? 'fine';
  if (labels !== 'fine' && labels !== 'coarse') {
    throw new Error(`labels must be 'fine' or 'coarse'; got ${labels}`);
  }
  if (labels === 'coarse' && !spec.classes.coarse) {
    throw new Error(`${spec.title} has only one kind of label; labels: 'coarse' is for CIFAR-100`);
  }
  const numClasses = labels === 'coarse' ? spec.classes.coarse! : spec.classes.fine;
  const parse = (parts: Uint8Array | readonly Uint8Array[], split: string): CifarSplit => {
    const list = parts instanceof Uint8Array ? [parts] : [...parts];
    if (list.length === 0) throw new Error(`no ${split} files given`);
    const counts = list.map((bytes, i) => recordCount(bytes.length, spec, `${split} file ${i + 1}`));
    const total = counts.reduce((a, b) => a + b, 0);
    const target: ParseTarget = {
      spec,
      labels,
      numClasses,
      images: new Uint8Array(total * PIXELS),
      labelsOut: new Uint8Array(total),
    };
    let index = 0;
    list.forEach((bytes, i) => {
      parseRecordsInto(bytes, counts[i]!, target, index, `${split} file ${i + 1}`, 0);
      index += counts[i]!;
    });
    return { images: target.images, labels: target.labelsOut, size: total };
  };
  const names = labels === 'coarse' ? spec.nameFiles.coarse! : spec.nameFiles.fine;
  return {
    dataset: spec.name,
    labels,
    numClasses,
    ...(options.classNames !== undefined
      ? { classNames: parseClassNames(options.classNames, numClasses, names) }
      : {}),
    train: parse(options.train, 'training'),
    test: parse(options.test, 'test'),
  };
}
