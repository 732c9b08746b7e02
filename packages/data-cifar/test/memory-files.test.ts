// The browser entry's readers of files in memory (src/memory-files.ts, src/synthetic-files.ts), against what
// the Node entry does with the same files on disk: generated datasets byte for byte, the archive gunzipped and
// untarred with its MD5, the same splits and checks as loadCifar, and the same refusals.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CifarDataError,
  cifarFromFiles,
  DATASETS,
  readCifarArchive,
  syntheticCifarFiles,
} from '../src/browser.js';
import { loadCifar, md5File, writeSyntheticCifar } from '../src/index.js';
import { tempDir } from './helpers.js';

let root: { path: string; remove: () => Promise<void> };
let cifar10: { dir: string; archive: string };

beforeAll(async () => {
  root = await tempDir('memory');
  const out = await writeSyntheticCifar({
    dataset: 'cifar10',
    dir: root.path,
    trainCount: 23,
    testCount: 7,
    seed: 3,
    archive: true,
  });
  cifar10 = { dir: out.dir, archive: out.archive! };
});

afterAll(async () => {
  await root.remove();
});

/** A file on disk as the Blob a browser page gets from a file input. */
async function blobOf(path: string): Promise<Blob> {
  return new Blob([await readFile(path)]);
}

describe('syntheticCifarFiles', () => {
  it('makes the bytes writeSyntheticCifar writes, for both datasets', async () => {
    const files = syntheticCifarFiles({ dataset: 'cifar10', trainCount: 23, testCount: 7, seed: 3 });
    expect([...files.keys()]).toEqual([
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
      'batches.meta.txt',
    ]);
    for (const [name, bytes] of files) {
      expect(Buffer.from(bytes).equals(await readFile(join(cifar10.dir, name))), name).toBe(true);
    }
    const dir = (
      await writeSyntheticCifar({ dataset: 'cifar100', dir: root.path, trainCount: 9, testCount: 4 })
    ).dir;
    for (const [name, bytes] of syntheticCifarFiles({ dataset: 'cifar100', trainCount: 9, testCount: 4 })) {
      expect(Buffer.from(bytes).equals(await readFile(join(dir, name))), name).toBe(true);
    }
  });

  it('refuses counts it cannot generate', () => {
    expect(() => syntheticCifarFiles({ dataset: 'cifar10', trainCount: 4 })).toThrow(
      /trainCount must be a whole number of at least 5 for CIFAR-10; got 4/,
    );
  });
});

describe('readCifarArchive', () => {
  it('gunzips and untars the dataset files, with the archive MD5', async () => {
    const archive = await readCifarArchive(await blobOf(cifar10.archive), { dataset: 'cifar10' });
    expect(archive.md5).toBe(await md5File(cifar10.archive));
    expect(archive.official).toBe(false);
    expect([...archive.files.keys()].sort()).toEqual(
      DATASETS.cifar10.members.filter((m) => m !== 'readme.html').sort(),
    );
    for (const [name, bytes] of archive.files) {
      expect(Buffer.from(bytes).equals(await readFile(join(cifar10.dir, name))), name).toBe(true);
    }
  });

  it('skips members that are not the dataset’s, and links', async () => {
    const path = join(root.path, 'extra.tar.gz');
    const { symlink, writeFile } = await import('node:fs/promises');
    await writeFile(join(cifar10.dir, 'evil.bin'), 'x');
    await symlink('data_batch_1.bin', join(cifar10.dir, 'readme.html'));
    try {
      await tar.c({ gzip: true, file: path, cwd: root.path, portable: true }, [
        'cifar-10-batches-bin/evil.bin',
        'cifar-10-batches-bin/readme.html',
        'cifar-10-batches-bin/test_batch.bin',
      ]);
    } finally {
      const { rm } = await import('node:fs/promises');
      await rm(join(cifar10.dir, 'evil.bin'));
      await rm(join(cifar10.dir, 'readme.html'));
    }
    const archive = await readCifarArchive(await blobOf(path), { dataset: 'cifar10', name: 'extra.tar.gz' });
    expect([...archive.files.keys()]).toEqual(['test_batch.bin']);
  });

  it('names a file that is not a gzip-compressed tar archive', async () => {
    const error = await readCifarArchive(new Blob(['not an archive']), {
      dataset: 'cifar10',
      name: 'notes.txt',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CifarDataError);
    expect((error as CifarDataError).code).toBe('malformed');
    expect((error as CifarDataError).message).toMatch(/notes\.txt is not a gzip-compressed tar archive/);
  });
});

describe('cifarFromFiles', () => {
  it('refuses files that are not the official ones, naming each, as loadCifar does', async () => {
    const archive = await readCifarArchive(await blobOf(cifar10.archive), { dataset: 'cifar10' });
    const error = await cifarFromFiles(archive.files, { dataset: 'cifar10', archive }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CifarDataError);
    const dataError = error as CifarDataError;
    expect(dataError.code).toBe('unofficial');
    expect(dataError.detail).toMatch(
      /cifar-10-binary\.tar\.gz\/data_batch_1\.bin \(5 records\) is not the official CIFAR-10 file: its MD5 is [0-9a-f]{32}, the official file's is 5dd7e06a14cb22eb9f671a540d1b7c25/,
    );
    expect(dataError.files?.map((f) => f.origin)).toEqual(Array(6).fill('differs'));
  });

  it('gives the splits and checks loadCifar gives for the same files (allowUnofficial)', async () => {
    const fromDisk = await loadCifar({
      dataset: 'cifar10',
      dataDir: cifar10.dir,
      download: false,
      allowUnofficial: true,
    });
    // The folder's files, as Blobs (a page's folder input), and the archive's, as bytes.
    const folder = new Map<string, Blob>();
    for (const name of DATASETS.cifar10.members.filter((m) => m !== 'readme.html')) {
      folder.set(name, await blobOf(join(cifar10.dir, name)));
    }
    const archive = await readCifarArchive(await blobOf(cifar10.archive), { dataset: 'cifar10' });
    for (const [files, source] of [
      [folder, 'cifar-10-batches-bin'],
      [archive.files, 'cifar-10-binary.tar.gz'],
    ] as const) {
      const data = await cifarFromFiles(files, { dataset: 'cifar10', allowUnofficial: true, source });
      expect(data.source).toBe(source);
      expect(data.official).toBe(false);
      expect(data.classNames).toEqual(fromDisk.classNames);
      expect(Buffer.from(data.train.images).equals(Buffer.from(fromDisk.train.images))).toBe(true);
      expect(Buffer.from(data.train.labels).equals(Buffer.from(fromDisk.train.labels))).toBe(true);
      expect(Buffer.from(data.test.images).equals(Buffer.from(fromDisk.test.images))).toBe(true);
      // loadCifar saw the generator's manifest ('synthetic'); in memory there is none, and the MD5s differ.
      expect(
        data.files.map(({ split, name, records, sha256, md5 }) => ({ split, name, records, sha256, md5 })),
      ).toEqual(
        fromDisk.files.map(({ split, name, records, sha256, md5 }) => ({
          split,
          name,
          records,
          sha256,
          md5,
        })),
      );
    }
  });

  it('compares files without a published checksum (CIFAR-100) with the official archive, and counts records', async () => {
    const files = syntheticCifarFiles({ dataset: 'cifar100', trainCount: 9, testCount: 4 });
    const refused = await cifarFromFiles(files, { dataset: 'cifar100' }).catch((e: unknown) => e);
    expect((refused as CifarDataError).files?.map((f) => f.origin)).toEqual(['unverifiable', 'unverifiable']);
    const spec = DATASETS.cifar100;
    // An archive whose MD5 is the official one vouches for its members by SHA-256; these hold 9 and 4
    // records where the official splits hold 50,000 and 10,000, so they are still not the official files.
    const archive = { md5: spec.archiveMd5, files: new Map(files), name: spec.archiveName };
    const counted = await cifarFromFiles(files, { dataset: 'cifar100', archive }).catch((e: unknown) => e);
    expect((counted as CifarDataError).files?.map((f) => [f.origin, f.problem])).toEqual([
      ['differs', 'belongs to a train split of 9 records; the official one has 50,000'],
      ['differs', 'belongs to a test split of 4 records; the official one has 10,000'],
    ]);
    // A file that is not the archive's member differs, by its SHA-256.
    const edited = new Map(files);
    const train = edited.get('train.bin')!.slice();
    train[5] = (train[5]! + 1) % 256;
    edited.set('train.bin', train);
    const changed = await cifarFromFiles(edited, { dataset: 'cifar100', archive, allowUnofficial: true });
    expect(changed.official).toBe(false);
    expect(changed.files[0]!.problem).toMatch(
      /is not the file of the official cifar-100-binary\.tar\.gz: its SHA-256/,
    );
    // An archive that is not the official one vouches for nothing.
    const other = await cifarFromFiles(files, {
      dataset: 'cifar100',
      archive: { ...archive, md5: '0'.repeat(32) },
      allowUnofficial: true,
    });
    expect(other.files.map((f) => f.origin)).toEqual(['unverifiable', 'unverifiable']);
  });

  it('names the files a folder lacks, and a cut file', async () => {
    const files = syntheticCifarFiles({ dataset: 'cifar10', trainCount: 10, testCount: 2 });
    files.delete('test_batch.bin');
    files.delete('batches.meta.txt');
    await expect(cifarFromFiles(files, { dataset: 'cifar10', source: 'my-folder' })).rejects.toThrow(
      /my-folder lacks test_batch\.bin, batches\.meta\.txt: it is not a complete cifar-10-batches-bin\/ folder/,
    );
    const cut = syntheticCifarFiles({ dataset: 'cifar10', trainCount: 10, testCount: 2 });
    cut.set('data_batch_2.bin', cut.get('data_batch_2.bin')!.subarray(0, 3000));
    await expect(cifarFromFiles(cut, { dataset: 'cifar10', allowUnofficial: true })).rejects.toThrow(
      /cifar-10-batches-bin\/data_batch_2\.bin has 3000 bytes, not a whole number of 3073-byte CIFAR-10 records/,
    );
  });
});
