// What loadCifar lets through: every data file is checked by its content, against the official MD5 (CIFAR-10) or
// the same file inside the official archive (CIFAR-100, whose per-file checksums are published nowhere), and
// each split must hold the official number of records; a label a folder carries proves nothing. A cut or edited
// file is refused unless `allowUnofficial`, and then it is reported with its record count and SHA-256. Also: a
// synthetic generation killed part-way leaves nothing that looks done.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiles, type HashedFile } from '../src/checks.js';
import { DATASETS, type DatasetSpec } from '../src/datasets.js';
import { md5File } from '../src/download.js';
import { type CifarDataError, loadCifar, MANIFEST_FILE, PIXELS, writeSyntheticCifar } from '../src/index.js';
import { officialArchiveFiles } from '../src/integrity.js';
import { tempDir } from './helpers.js';

let root: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await tempDir('integrity');
});
afterAll(async () => {
  await root.remove();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as CifarDataError,
  );

/**
 * A generated CIFAR-100 folder with its .tar.gz, and the spec under which that archive is "the official one":
 * CIFAR-100's own spec with the generated archive's MD5 and record counts. (The real archive cannot be had
 * here; what is tested is everything that follows once an archive's MD5 is the official one: loadCifar's own
 * check is `officialArchiveFiles(<cache>/cifar-100-binary.tar.gz, DATASETS.cifar100)`.)
 */
async function generatedCifar100(name: string) {
  const made = await writeSyntheticCifar({
    dataset: 'cifar100',
    dir: join(root.path, name),
    trainCount: 40,
    testCount: 30,
    archive: true,
  });
  const spec: DatasetSpec = {
    ...DATASETS.cifar100,
    archiveMd5: await md5File(made.archive!),
    officialRecords: { train: 40, test: 30 },
  };
  const loaded = await loadCifar({ dataset: 'cifar100', dataDir: made.dir, allowUnofficial: true });
  const hashed: HashedFile[] = loaded.files.map(({ split, name, bytes, records, sha256, md5 }) => ({
    split,
    name,
    bytes,
    records,
    sha256,
    md5,
  }));
  return { folder: made.dir, archive: made.archive!, spec, hashed };
}

describe('official data', () => {
  it('lists the official MD5 of every CIFAR-10 data file, and the official record counts', () => {
    const md5s = [...DATASETS.cifar10.trainFiles, ...DATASETS.cifar10.testFiles].map((f) => f.md5);
    expect(md5s).toHaveLength(6);
    for (const md5 of md5s) expect(md5).toMatch(/^[0-9a-f]{32}$/);
    expect(DATASETS.cifar10.testFiles[0]!.md5).toBe('803d5f7f4d78ea53de84dbe85f74fb6d');
    for (const spec of Object.values(DATASETS))
      expect(spec.officialRecords).toEqual({ train: 50_000, test: 10_000 });
  });

  it('verifies files without a published checksum against the official archive, by its MD5', async () => {
    const { archive, spec, hashed } = await generatedCifar100('archive');
    const files = await officialArchiveFiles(archive, spec);
    const train = await readFile(join(root.path, 'archive', 'cifar-100-binary', 'train.bin'));
    expect(files?.get('train.bin')).toEqual({ bytes: train.length, sha256: sha256(train) });
    expect(checkFiles(spec, hashed, { archive: files }).map((f) => [f.name, f.origin])).toEqual([
      ['train.bin', 'official-archive'],
      ['test.bin', 'official-archive'],
    ]);
    // The same archive under the real CIFAR-100 spec: its MD5 is not the official archive's, so it vouches
    // for nothing.
    expect(await officialArchiveFiles(archive, DATASETS.cifar100)).toBeUndefined();
    // Files the archive holds, but a split of another size than the official one: not official.
    const [checked] = checkFiles({ ...spec, officialRecords: { train: 50_000, test: 30 } }, hashed, {
      archive: files,
    });
    expect(checked).toMatchObject({ origin: 'differs' });
    expect(checked!.problem).toBe('belongs to a train split of 40 records; the official one has 50,000');
  });

  it('names a file that differs from the one in the official archive', async () => {
    const { archive, spec, hashed } = await generatedCifar100('edited');
    const files = await officialArchiveFiles(archive, spec);
    const edited = hashed.map((f) => (f.name === 'test.bin' ? { ...f, sha256: '0'.repeat(64) } : f));
    const checked = checkFiles(spec, edited, { archive: files });
    expect(checked[0]!.origin).toBe('official-archive');
    expect(checked[1]).toMatchObject({ origin: 'differs' });
    expect(checked[1]!.problem).toMatch(
      /^is not the file of the official cifar-100-binary\.tar\.gz: its SHA-256 is 0{64}, the archive's is [0-9a-f]{64}$/,
    );
  });

  it('takes no label for official: generated data relabelled "official-archive" is refused', async () => {
    const { dir } = await writeSyntheticCifar({
      dataset: 'cifar100',
      dir: join(root.path, 'relabelled'),
      trainCount: 64,
      testCount: 16,
    });
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, origin: 'official-archive' }));
    const error = await errorOf(loadCifar({ dataset: 'cifar100', dataDir: dir }));
    expect(error.code).toBe('unofficial');
    expect(error.files?.map((f) => f.origin)).toEqual(['unverifiable', 'unverifiable']);
    expect(error.detail).toContain(`${join(dir, 'train.bin')} (64 records)`);
    const data = await loadCifar({ dataset: 'cifar100', dataDir: dir, allowUnofficial: true });
    expect(data.official).toBe(false);
  });

  it('refuses an edited test file of the right size in a folder the user brings, never telling them to delete it', async () => {
    const { folder } = await generatedCifar100('user-folder');
    const test = await readFile(join(folder, 'test.bin'));
    const at = 5 * (PIXELS + 2) + 100;
    test.writeUInt8(test.readUInt8(at) ^ 0xff, at);
    await writeFile(join(folder, 'test.bin'), test);
    const error = await errorOf(loadCifar({ dataset: 'cifar100', dataDir: folder }));
    expect(error.origin).toBe('dataDir');
    expect(error.detail).toMatch(
      /test\.bin \(30 records\) has changed since it was generated: its SHA-256 is [0-9a-f]{64}/,
    );
    expect(error.message).not.toMatch(/[Dd]elete/);
    const data = await loadCifar({ dataset: 'cifar100', dataDir: folder, allowUnofficial: true });
    expect(data.files[1]).toMatchObject({ origin: 'differs', sha256: sha256(test) });
  });

  it('refuses CIFAR-100 files nothing vouches for, and says how to get verified ones', async () => {
    const { dir } = await writeSyntheticCifar({
      dataset: 'cifar100',
      dir: join(root.path, 'plain'),
      trainCount: 10,
      testCount: 10,
    });
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, MANIFEST_FILE));
    const error = await errorOf(loadCifar({ dataset: 'cifar100', dataDir: dir }));
    expect(error.detail).toContain(
      `${join(dir, 'train.bin')} (10 records) and ${join(dir, 'test.bin')} (10 records) cannot be verified`,
    );
    expect(error.detail).toContain('the official archive (cifar-100-binary.tar.gz) is not in the cache');
    expect(error.hint).toContain('let loadCifar fetch the official cifar-100-binary.tar.gz');
    const data = await loadCifar({ dataset: 'cifar100', dataDir: dir, allowUnofficial: true });
    expect(data.files.map((f) => f.origin)).toEqual(['unverifiable', 'unverifiable']);
  });

  it('reports generated data as synthetic, and refuses it without allowUnofficial', async () => {
    const { dir } = await writeSyntheticCifar({
      dataset: 'cifar10',
      dir: join(root.path, 'syn'),
      trainCount: 10,
    });
    const error = await errorOf(loadCifar({ dataset: 'cifar10', dataDir: dir }));
    // CIFAR-10's files have official MD5s, which generated files do not match.
    expect(error.files?.map((f) => f.origin)).toEqual(Array(6).fill('differs'));
    const hundred = await writeSyntheticCifar({
      dataset: 'cifar100',
      dir: join(root.path, 'syn'),
      trainCount: 10,
    });
    const data = await loadCifar({ dataset: 'cifar100', dataDir: hundred.dir, allowUnofficial: true });
    expect(data.files.map((f) => f.origin)).toEqual(['synthetic', 'synthetic']);
  });
});

describe('synthetic generation', () => {
  it('leaves nothing that looks complete when killed part-way (SIGKILL), and the next run generates it', async () => {
    const dir = join(root.path, 'killed');
    await mkdir(dir, { recursive: true });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'generate.ts'), dir, '20000'],
      { stdio: 'ignore' },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill it as soon as its work folder exists: the images take seconds to compute.
    const deadline = Date.now() + 120_000;
    let temp: string | undefined;
    while (!temp && Date.now() < deadline) {
      temp = (await readdir(dir)).find((name) => name.startsWith('.resnet-tmp-'));
      if (!temp) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(temp).toBeDefined();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(join(dir, 'cifar-10-batches-bin'))).toBe(false);
    expect(existsSync(join(dir, temp!))).toBe(true);

    const { dir: folder } = await writeSyntheticCifar({ dataset: 'cifar10', dir, trainCount: 50 });
    expect(await readdir(dir)).toEqual(['cifar-10-batches-bin']);
    const data = await loadCifar({ dataset: 'cifar10', dataDir: folder, allowUnofficial: true });
    expect(data.train.size).toBe(50);
  }, 180_000);

  it('replaces a folder left incomplete under the final name, and keeps a complete one', async () => {
    const dir = join(root.path, 'incomplete');
    const folder = join(dir, 'cifar-10-batches-bin');
    await mkdir(folder, { recursive: true });
    // What a kill during the old in-place generation left: one batch file, nothing else.
    await writeFile(join(folder, 'data_batch_1.bin'), Buffer.alloc(3073));
    await writeSyntheticCifar({ dataset: 'cifar10', dir, trainCount: 20, testCount: 5 });
    const data = await loadCifar({ dataset: 'cifar10', dataDir: folder, allowUnofficial: true });
    expect([data.train.size, data.test.size]).toEqual([20, 5]);

    const before = await stat(folder);
    await writeSyntheticCifar({ dataset: 'cifar10', dir, trainCount: 20, testCount: 5 });
    expect((await stat(folder)).ino).toBe(before.ino);
    // Other settings: generated again.
    await writeSyntheticCifar({ dataset: 'cifar10', dir, trainCount: 30, testCount: 5 });
    expect((await loadCifar({ dataset: 'cifar10', dataDir: folder, allowUnofficial: true })).train.size).toBe(
      30,
    );
  });
});
