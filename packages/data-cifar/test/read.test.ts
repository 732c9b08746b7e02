// Parsing of the binary formats against files written here with known content, the size and label checks,
// per-file checksums, class names and the validation split.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CifarDataError, DATASETS, loadCifar, PIXELS, writeSyntheticCifar } from '../src/index.js';
import { readSplit } from '../src/read.js';
import { tempDir } from './helpers.js';

let root: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  root = await tempDir('read');
});

afterAll(async () => {
  await root.remove();
});

/** Pixel byte of image `i`, channel `c`, pixel `p` in the files written below: every position distinct. */
const pixel = (i: number, c: number, p: number) => (i * 7 + c * 31 + p * 3) % 256;

/** Records with label bytes `labelsOf(i)` and pixels from `pixel`. */
function records(count: number, first: number, labelsOf: (i: number) => number[]): Buffer {
  const labelBytes = labelsOf(0).length;
  const out = Buffer.alloc(count * (labelBytes + PIXELS));
  for (let k = 0; k < count; k++) {
    const i = first + k;
    const at = k * (labelBytes + PIXELS);
    labelsOf(i).forEach((v, j) => {
      out[at + j] = v;
    });
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++) out[at + labelBytes + c * 1024 + p] = pixel(i, c, p);
  }
  return out;
}

const names10 = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n';

/** A CIFAR-10 folder: 3 images in each training batch, 4 test images; labels i % 10. */
async function cifar10Folder(name: string): Promise<string> {
  const dir = join(root.path, name, 'cifar-10-batches-bin');
  await mkdir(dir, { recursive: true });
  for (let b = 0; b < 5; b++)
    await writeFile(
      join(dir, `data_batch_${b + 1}.bin`),
      records(3, b * 3, (i) => [i % 10]),
    );
  await writeFile(
    join(dir, 'test_batch.bin'),
    records(4, 100, (i) => [i % 10]),
  );
  await writeFile(join(dir, 'batches.meta.txt'), names10);
  return dir;
}

describe('CIFAR-10 binary', () => {
  it('reads labels and planar pixels in file order', async () => {
    const dir = await cifar10Folder('ten');
    const data = await loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true });
    expect(data.classNames).toEqual(names10.trim().split('\n'));
    expect(data.numClasses).toBe(10);
    expect(data.train.size).toBe(15);
    expect(data.train.images.length).toBe(15 * PIXELS);
    expect(Array.from(data.train.labels)).toEqual(Array.from({ length: 15 }, (_, i) => i % 10));
    expect(Array.from(data.test.labels)).toEqual([0, 1, 2, 3]);
    for (const [split, first] of [
      [data.train, 0],
      [data.test, 100],
    ] as const) {
      for (let k = 0; k < split.size; k++) {
        for (const [c, p] of [
          [0, 0],
          [1, 517],
          [2, 1023],
        ]) {
          expect(split.images[k * PIXELS + c! * 1024 + p!]).toBe(pixel(first + k, c!, p!));
        }
      }
    }
  });

  it('names the file and record of a label out of range', async () => {
    const dir = await cifar10Folder('bad-label');
    const data = records(3, 0, (i) => [i]);
    data[2 * (PIXELS + 1)] = 10;
    await writeFile(join(dir, 'data_batch_2.bin'), data);
    await expect(loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true })).rejects.toThrow(
      /data_batch_2\.bin: record 2 \(counting from 0\) has fine label 10, outside 0–9/,
    );
  });

  it('names the file and the cut-short record of a file of the wrong size', async () => {
    const dir = await cifar10Folder('bad-size');
    await writeFile(join(dir, 'test_batch.bin'), records(4, 0, () => [1]).subarray(0, 3 * 3073 + 100));
    await expect(loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true })).rejects.toThrow(
      /test_batch\.bin has 9319 bytes, not a whole number of 3073-byte CIFAR-10 records: record 3 \(counting from 0\) has only 100 bytes/,
    );
  });

  it('refuses files that are not the official ones unless allowUnofficial, naming each and its MD5', async () => {
    const dir = await cifar10Folder('md5');
    const refused = loadCifar({ dataset: 'cifar10', dataDir: dir });
    await expect(refused).rejects.toThrow(
      new RegExp(
        `data_batch_1\\.bin \\(3 records\\) is not the official CIFAR-10 file: its MD5 is [0-9a-f]{32}, the official file's is ${DATASETS.cifar10.trainFiles[0]!.md5}.*allowUnofficial: true`,
      ),
    );
    const error = (await refused.catch((e: unknown) => e)) as CifarDataError;
    expect(error).toBeInstanceOf(CifarDataError);
    expect(error.code).toBe('unofficial');
    expect(error.origin).toBe('dataDir');
    // The user's own folder: never told to delete it.
    expect(error.message).not.toMatch(/[Dd]elete/);
    expect(error.files?.map((f) => f.origin)).toEqual(Array(6).fill('differs'));
    const data = await loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true });
    expect(data.official).toBe(false);
    expect(data.files.map((f) => [f.split, f.name, f.records])).toEqual([
      ['train', 'data_batch_1.bin', 3],
      ['train', 'data_batch_2.bin', 3],
      ['train', 'data_batch_3.bin', 3],
      ['train', 'data_batch_4.bin', 3],
      ['train', 'data_batch_5.bin', 3],
      ['test', 'test_batch.bin', 4],
    ]);
  });

  it('hashes each file it reads (SHA-256 and MD5) in the same pass', async () => {
    const dir = await cifar10Folder('hashes');
    const spec = DATASETS.cifar10;
    const content = records(3, 0, (i) => [i]);
    await writeFile(join(dir, 'mine.bin'), content);
    const files = [{ name: 'mine.bin' }, { name: 'test_batch.bin' }];
    const read = await readSplit({ dir, files, split: 'train', spec, labels: 'fine', numClasses: 10 });
    expect(read.split.size).toBe(7);
    expect(read.files[0]).toEqual({
      split: 'train',
      name: 'mine.bin',
      bytes: content.length,
      records: 3,
      sha256: createHash('sha256').update(content).digest('hex'),
      md5: createHash('md5').update(content).digest('hex'),
    });
    expect(read.files[1]!.records).toBe(4);
  });

  it('refuses a class-name file with the wrong number of names, and a folder missing files', async () => {
    const dir = await cifar10Folder('names');
    await writeFile(join(dir, 'batches.meta.txt'), 'a\nb\n');
    await expect(loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true })).rejects.toThrow(
      /batches\.meta\.txt lists 2 class names; expected 10/,
    );
    const other = await cifar10Folder('missing');
    const { rm } = await import('node:fs/promises');
    await rm(join(other, 'test_batch.bin'));
    await expect(loadCifar({ dataset: 'cifar10', dataDir: other, allowUnofficial: true })).rejects.toThrow(
      /lacks test_batch\.bin/,
    );
  });
});

describe('CIFAR-100 binary', () => {
  async function folder(name: string, labels: (i: number) => number[]): Promise<string> {
    const dir = join(root.path, name, 'cifar-100-binary');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'train.bin'), records(12, 0, labels));
    await writeFile(join(dir, 'test.bin'), records(5, 50, labels));
    const lines = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`).join('\n');
    await writeFile(join(dir, 'fine_label_names.txt'), lines(100, 'fine'));
    await writeFile(join(dir, 'coarse_label_names.txt'), lines(20, 'coarse'));
    return dir;
  }

  it('reads the fine label by default and the coarse one on request', async () => {
    const dir = await folder('hundred', (i) => [i % 20, (i * 9) % 100]);
    const fine = await loadCifar({ dataset: 'cifar100', dataDir: dir, allowUnofficial: true });
    expect(fine.labels).toBe('fine');
    expect(fine.classNames[99]).toBe('fine99');
    expect(Array.from(fine.train.labels)).toEqual(Array.from({ length: 12 }, (_, i) => (i * 9) % 100));
    expect(fine.test.images[4 * PIXELS + 2 * 1024 + 5]).toBe(pixel(54, 2, 5));
    const coarse = await loadCifar({
      dataset: 'cifar100',
      dataDir: dir,
      labels: 'coarse',
      allowUnofficial: true,
    });
    expect(coarse.numClasses).toBe(20);
    expect(coarse.classNames[0]).toBe('coarse0');
    expect(Array.from(coarse.test.labels)).toEqual([10, 11, 12, 13, 14]);
    await expect(loadCifar({ dataset: 'cifar10', dataDir: dir, labels: 'coarse' })).rejects.toThrow(
      /CIFAR-100/,
    );
  });

  it('checks the coarse label range too', async () => {
    const dir = await folder('hundred-bad', (i) => [i === 7 ? 20 : 0, 1]);
    await expect(loadCifar({ dataset: 'cifar100', dataDir: dir, labels: 'coarse' })).rejects.toThrow(
      /train\.bin: record 7 \(counting from 0\) has coarse label 20, outside 0–19/,
    );
  });
});

describe('validation split', () => {
  it('holds out a seeded random subset of the training set, disjoint from the rest', async () => {
    const { dir } = await writeSyntheticCifar({
      dataset: 'cifar10',
      dir: join(root.path, 'val'),
      trainCount: 200,
      testCount: 10,
    });
    const full = await loadCifar({ dataset: 'cifar10', dataDir: dir, allowUnofficial: true });
    const a = await loadCifar({
      dataset: 'cifar10',
      dataDir: dir,
      allowUnofficial: true,
      validation: { size: 20, seed: 1 },
    });
    const b = await loadCifar({
      dataset: 'cifar10',
      dataDir: dir,
      allowUnofficial: true,
      validation: { size: 20, seed: 1 },
    });
    const c = await loadCifar({
      dataset: 'cifar10',
      dataDir: dir,
      allowUnofficial: true,
      validation: { size: 20, seed: 2 },
    });
    expect([a.train.size, a.validation!.size, a.test.size]).toEqual([180, 20, 10]);
    const key = (s: { images: Uint8Array }, i: number) =>
      createHash('md5')
        .update(s.images.subarray(i * PIXELS, (i + 1) * PIXELS))
        .digest('hex');
    const keys = (s: { images: Uint8Array; size: number }) =>
      Array.from({ length: s.size }, (_, i) => key(s, i));
    const all = keys(full.train);
    // Every training image lands in exactly one of the two parts, with its label, in file order.
    expect([...keys(a.train), ...keys(a.validation!)].sort()).toEqual([...all].sort());
    const trainKeys = keys(a.train);
    expect(trainKeys).toEqual(all.filter((k) => trainKeys.includes(k)));
    const valKeys = keys(a.validation!);
    valKeys.forEach((k, i) => {
      expect(a.validation!.labels[i]).toBe(full.train.labels[all.indexOf(k)]);
    });
    expect(keys(b.validation!)).toEqual(valKeys);
    expect(keys(c.validation!)).not.toEqual(valKeys);
    await expect(
      loadCifar({
        dataset: 'cifar10',
        dataDir: dir,
        allowUnofficial: true,
        validation: { size: 200, seed: 1 },
      }),
    ).rejects.toThrow(/validation size must be a whole number between 1 and 199/);
  });
});
