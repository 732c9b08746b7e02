// Reads the CIFAR binary files from disk in chunks (parsed by parse.ts), hashing each file in the same pass.
// Pixels stay bytes, in the files' planar (CHW) order: the whole of CIFAR-10 is ≈184 MB this way instead of
// ≈740 MB as float32.
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HashedFile } from './checks.js';
import { type DataFile, type DatasetSpec, PIXELS, recordBytes } from './datasets.js';
import {
  type CifarSplit,
  type LabelKind,
  malformed,
  type ParseTarget,
  parseClassNames,
  parseRecordsInto,
  recordCount,
} from './parse.js';

export type { CifarSplit, LabelKind } from './parse.js';

export interface ReadSplitArgs {
  dir: string;
  files: DataFile[];
  /** Which split the files make up (recorded with each file's hashes). */
  split: 'train' | 'test';
  spec: DatasetSpec;
  labels: LabelKind;
  numClasses: number;
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
  const counts: number[] = [];
  for (const file of files) {
    const path = join(dir, file.name);
    counts.push(recordCount((await stat(path)).size, spec, path));
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const target: ParseTarget = {
    spec,
    labels: args.labels,
    numClasses,
    images: new Uint8Array(total * PIXELS),
    labelsOut: new Uint8Array(total),
  };
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
        parseRecordsInto(buffer, n, target, index, path, done);
        index += n;
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
  return { split: { images: target.images, labels: target.labelsOut, size: total }, files: hashed };
}

/** Class names, one per non-empty line, in label order. */
export async function readClassNames(path: string, expected: number): Promise<string[]> {
  return parseClassNames(await readFile(path, 'utf8'), expected, path);
}
