// Parses the CIFAR binary files: records of label byte(s) then 3072 pixel bytes (red plane, green, blue,
// each row-major). Pixels stay bytes, in the files' planar (CHW) order: the whole of CIFAR-10 is ≈184 MB
// this way instead of ≈740 MB as float32.
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DataFile, type DatasetSpec, PIXELS, recordBytes } from './datasets.js';
import { CifarDataError } from './errors.js';
import type { HashedFile } from './integrity.js';

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

export interface ReadSplitArgs {
  dir: string;
  files: DataFile[];
  /** Which split the files make up (recorded with each file's hashes). */
  split: 'train' | 'test';
  spec: DatasetSpec;
  labels: LabelKind;
  numClasses: number;
}

/** A file that is not a readable CIFAR binary file (the caller adds what to do about it). */
function malformed(detail: string): CifarDataError {
  return new CifarDataError({ code: 'malformed', detail, hint: '' });
}

// Records read per system call: large enough to keep reads cheap, small enough not to double memory.
const RECORDS_PER_READ = 2048;

/**
 * Reads and checks the given files and concatenates them into one split; hashes each file (SHA-256 and MD5)
 * in the same pass, for the caller to check against the official checksums and to record.
 */
export async function readSplit(args: ReadSplitArgs): Promise<{ split: CifarSplit; files: HashedFile[] }> {
  const { dir, files, spec, numClasses } = args;
  const record = recordBytes(spec);
  // CIFAR-100 records carry the coarse label first, then the fine one.
  const labelOffset = spec.labelBytes === 2 && args.labels === 'fine' ? 1 : 0;
  const counts: number[] = [];
  for (const file of files) {
    const path = join(dir, file.name);
    const { size } = await stat(path);
    if (size === 0) throw malformed(`${path} is empty; expected records of ${record} bytes.`);
    if (size % record !== 0) {
      const whole = Math.floor(size / record);
      throw malformed(
        `${path} has ${size} bytes, not a whole number of ${record}-byte ${spec.title} records: record ${whole} (counting from 0) has only ${size % record} bytes. The file is truncated or not a ${spec.title} binary file.`,
      );
    }
    counts.push(size / record);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  const buffer = Buffer.allocUnsafe(RECORDS_PER_READ * record);
  const hashed: HashedFile[] = [];
  let index = 0;
  for (const [f, file] of files.entries()) {
    const path = join(dir, file.name);
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    const handle = await open(path, 'r');
    try {
      for (let done = 0; done < counts[f]!; ) {
        const n = Math.min(RECORDS_PER_READ, counts[f]! - done);
        const want = n * record;
        let got = 0;
        while (got < want) {
          const { bytesRead } = await handle.read(buffer, got, want - got, done * record + got);
          if (bytesRead === 0) {
            throw malformed(
              `${path} ended early at record ${done} while being read (it changed meanwhile?).`,
            );
          }
          got += bytesRead;
        }
        sha256.update(buffer.subarray(0, want));
        md5.update(buffer.subarray(0, want));
        for (let r = 0; r < n; r++) {
          const at = r * record;
          const label = buffer[at + labelOffset]!;
          if (label >= numClasses) {
            throw malformed(
              `${path}: record ${done + r} (counting from 0) has ${args.labels} label ${label}, outside 0–${numClasses - 1}. The file is damaged or not a ${spec.title} binary file.`,
            );
          }
          labels[index] = label;
          images.set(buffer.subarray(at + spec.labelBytes, at + record), index * PIXELS);
          index++;
        }
        done += n;
      }
    } finally {
      await handle.close();
    }
    hashed.push({
      split: args.split,
      name: file.name,
      bytes: counts[f]! * record,
      records: counts[f]!,
      sha256: sha256.digest('hex'),
      md5: md5.digest('hex'),
    });
  }
  return { split: { images, labels, size: total }, files: hashed };
}

/** Class names, one per non-empty line, in label order. */
export async function readClassNames(path: string, expected: number): Promise<string[]> {
  const names = (await readFile(path, 'utf8'))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== expected) {
    throw malformed(`${path} lists ${names.length} class names; expected ${expected}, one per line.`);
  }
  return names;
}
