// What loadCifar lets through: every data file is checked against the official MD5 (CIFAR-10) or the
// manifest written when the package extracted an official archive (CIFAR-100, whose per-file checksums are
// published nowhere), a cut or edited file is refused unless `allowUnofficial`, and then it is reported with
// its record count and SHA-256. Also: a synthetic generation killed part-way leaves nothing that looks done.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS, type DatasetSpec } from '../src/datasets.js';
import { extractDataset } from '../src/extract.js';
import { CifarDataError, loadCifar, MANIFEST_FILE, PIXELS, writeSyntheticCifar } from '../src/index.js';
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
 * A CIFAR-100 folder extracted by the package from an archive it took as official, in the cache `cacheDir`.
 * (The archive here is generated, so its MD5 is not the real one's; what is tested is what follows once an
 * archive has matched: loadCifar's own check is the one line `md5 === spec.archiveMd5`.)
 */
async function extractedCifar100(name: string): Promise<{ cacheDir: string; folder: string }> {
  const made = await writeSyntheticCifar({
    dataset: 'cifar100',
    dir: join(root.path, name, 'made'),
    trainCount: 40,
    testCount: 30,
    archive: true,
  });
  const cacheDir = join(root.path, name, 'cache');
  await mkdir(cacheDir, { recursive: true });
  const spec: DatasetSpec = DATASETS.cifar100;
  const folder = await extractDataset(made.archive!, cacheDir, spec, { official: true });
  return { cacheDir, folder };
}

describe('official data', () => {
  it('lists the official MD5 of every CIFAR-10 data file', () => {
    const md5s = [...DATASETS.cifar10.trainFiles, ...DATASETS.cifar10.testFiles].map((f) => f.md5);
    expect(md5s).toHaveLength(6);
    for (const md5 of md5s) expect(md5).toMatch(/^[0-9a-f]{32}$/);
    expect(DATASETS.cifar10.testFiles[0]!.md5).toBe('803d5f7f4d78ea53de84dbe85f74fb6d');
  });

  it('verifies extracted files by the manifest written last at extraction, before the rename', async () => {
    const { cacheDir, folder } = await extractedCifar100('extracted');
    const manifest = JSON.parse(await readFile(join(folder, MANIFEST_FILE), 'utf8'));
    expect(manifest.origin).toBe('official-archive');
    const train = await readFile(join(folder, 'train.bin'));
    expect(manifest.files['train.bin']).toEqual({ bytes: train.length, sha256: sha256(train) });
    // No temporary folder is left in the cache.
    expect((await readdir(cacheDir)).sort()).toEqual(['cifar-100-binary']);

    const data = await loadCifar({ dataset: 'cifar100', cacheDir, download: false });
    expect(data.official).toBe(true);
    expect(data.files.map((f) => [f.name, f.origin, f.records])).toEqual([
      ['train.bin', 'official-archive', 40],
      ['test.bin', 'official-archive', 30],
    ]);
    expect(data.files[0]!.sha256).toBe(sha256(train));
  });

  it('refuses a cut test file, names it and its record count, and accepts it when told, recording it', async () => {
    const { cacheDir, folder } = await extractedCifar100('cut');
    const test = await readFile(join(folder, 'test.bin'));
    const cut = test.subarray(0, 15 * (PIXELS + 2));
    await writeFile(join(folder, 'test.bin'), cut);
    const error = await errorOf(loadCifar({ dataset: 'cifar100', cacheDir, download: false }));
    expect(error).toBeInstanceOf(CifarDataError);
    expect(error.code).toBe('unofficial');
    expect(error.detail).toContain(
      `${join(folder, 'test.bin')} (15 records) has changed since it was extracted`,
    );
    expect(error.detail).not.toContain('train.bin');
    // The package's own cache folder: deleting it is the remedy.
    expect(error.hint).toContain(`Delete ${folder} to have loadCifar download`);
    expect(error.hint).toContain('allowUnofficial: true');

    const data = await loadCifar({ dataset: 'cifar100', cacheDir, download: false, allowUnofficial: true });
    expect(data.official).toBe(false);
    expect(data.test.size).toBe(15);
    expect(data.files[1]).toMatchObject({
      name: 'test.bin',
      origin: 'differs',
      records: 15,
      sha256: sha256(cut),
    });
    expect(data.files[0]!.origin).toBe('official-archive');
  });

  it('refuses an edited test file of the right size in a folder the user brings, never telling them to delete it', async () => {
    const { folder } = await extractedCifar100('edited');
    const test = await readFile(join(folder, 'test.bin'));
    const at = 5 * (PIXELS + 2) + 100;
    test.writeUInt8(test.readUInt8(at) ^ 0xff, at);
    await writeFile(join(folder, 'test.bin'), test);
    const error = await errorOf(loadCifar({ dataset: 'cifar100', dataDir: folder }));
    expect(error.origin).toBe('dataDir');
    expect(error.detail).toMatch(
      /test\.bin \(30 records\) has changed since it was extracted: its SHA-256 is [0-9a-f]{64}/,
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
