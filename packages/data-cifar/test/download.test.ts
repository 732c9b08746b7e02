// Download, resume, checksum and extraction paths, against a real HTTP server on loopback serving generated
// archives in the official layout.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  downloadFile,
  loadCifar,
  MANIFEST_FILE,
  resolveCacheDir,
  writeSyntheticCifar,
} from '../src/index.js';
import { fileHasBytes, type LoopbackServer, startServer, tempDir } from './helpers.js';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
const fast = { progress: false, retryDelayMs: 5, allowUnofficial: true } as const;

let root: { path: string; remove: () => Promise<void> };
let server: LoopbackServer;
let archive10: Buffer;
let archive100: Buffer;
let folder10: string;
let cacheCount = 0;

/** A fresh, empty cache folder per test. */
async function freshCache(): Promise<string> {
  const dir = join(root.path, `cache-${cacheCount++}`);
  await mkdir(dir);
  return dir;
}

/** Every file left anywhere under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

beforeAll(async () => {
  root = await tempDir('download');
  server = await startServer();
  const ten = await writeSyntheticCifar({
    dataset: 'cifar10',
    dir: join(root.path, 'src10'),
    trainCount: 50,
    testCount: 10,
    archive: true,
  });
  const hundred = await writeSyntheticCifar({
    dataset: 'cifar100',
    dir: join(root.path, 'src100'),
    trainCount: 40,
    testCount: 8,
    archive: true,
  });
  folder10 = ten.dir;
  archive10 = await readFile(ten.archive!);
  archive100 = await readFile(hundred.archive!);
});

afterAll(async () => {
  await server.close();
  await root.remove();
});

describe('download', () => {
  it('downloads, checks, extracts and then reads from the cache without asking again', async () => {
    server.set('/good10.tar.gz', { kind: 'file', body: archive10 });
    const cacheDir = await freshCache();
    const options = {
      dataset: 'cifar10',
      cacheDir,
      url: server.url('/good10.tar.gz'),
      md5: md5(archive10),
      ...fast,
    } as const;
    const data = await loadCifar(options);
    expect(data.source).toBe(join(cacheDir, 'cifar-10-batches-bin'));
    expect([data.train.size, data.test.size, data.numClasses]).toEqual([50, 10, 10]);
    // Same bytes as the folder the archive was made from.
    const direct = await loadCifar({ dataset: 'cifar10', dataDir: folder10, allowUnofficial: true });
    expect(Buffer.from(data.train.images).equals(Buffer.from(direct.train.images))).toBe(true);
    expect(Buffer.from(data.test.labels).equals(Buffer.from(direct.test.labels))).toBe(true);
    // Only the extracted folder stays: no archive, no partial file, no temporary folder.
    expect((await filesUnder(cacheDir)).every((f) => f.startsWith('cifar-10-batches-bin/'))).toBe(true);
    const asked = server.requests.filter((r) => r.path === '/good10.tar.gz').length;
    await loadCifar(options);
    expect(server.requests.filter((r) => r.path === '/good10.tar.gz').length).toBe(asked);
  });

  it('downloads CIFAR-100 and reads coarse labels on request', async () => {
    server.set('/good100.tar.gz', { kind: 'file', body: archive100 });
    const cacheDir = await freshCache();
    const base = {
      dataset: 'cifar100',
      cacheDir,
      url: server.url('/good100.tar.gz'),
      md5: md5(archive100),
      ...fast,
    } as const;
    const fine = await loadCifar(base);
    const coarse = await loadCifar({ ...base, labels: 'coarse' });
    expect([fine.numClasses, coarse.numClasses, coarse.classNames.length]).toEqual([100, 20, 20]);
    // The generator puts five fine classes in each coarse one.
    for (let i = 0; i < fine.train.size; i++) {
      expect(coarse.train.labels[i]).toBe(Math.floor(fine.train.labels[i]! / 5));
    }
  });

  it('refuses an archive whose checksum does not match and leaves nothing behind', async () => {
    server.set('/other.tar.gz', { kind: 'file', body: archive10 });
    const cacheDir = await freshCache();
    const url = server.url('/other.tar.gz');
    const wrong = '0123456789abcdef0123456789abcdef';
    await expect(loadCifar({ dataset: 'cifar10', cacheDir, url, md5: wrong, ...fast })).rejects.toThrow(
      new RegExp(`${url}.*MD5 is ${md5(archive10)}, but ${wrong} was expected`),
    );
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it('checks a mirror against the official archive checksum unless allowUnofficial, and then vouches for nothing', async () => {
    server.set('/mirror.tar.gz', { kind: 'file', body: archive10 });
    const cacheDir = await freshCache();
    const url = server.url('/mirror.tar.gz');
    await expect(loadCifar({ dataset: 'cifar10', cacheDir, url, progress: false })).rejects.toThrow(
      /c32a1d4ab5d03f1284b67883e8d87530 was expected/,
    );
    const data = await loadCifar({
      dataset: 'cifar10',
      cacheDir,
      url,
      progress: false,
      allowUnofficial: true,
    });
    expect(data.train.size).toBe(50);
    // Not the official archive: its files get no manifest, and are reported for what they are.
    expect(existsSync(join(cacheDir, 'cifar-10-batches-bin', MANIFEST_FILE))).toBe(false);
    expect(data.official).toBe(false);
    expect(new Set(data.files.map((f) => f.origin))).toEqual(new Set(['differs']));
  });

  it('rejects a truncated archive by its checksum', async () => {
    const truncated = archive10.subarray(0, Math.floor(archive10.length / 2));
    server.set('/truncated.tar.gz', { kind: 'file', body: truncated });
    const cacheDir = await freshCache();
    const url = server.url('/truncated.tar.gz');
    await expect(
      loadCifar({ dataset: 'cifar10', cacheDir, url, md5: md5(archive10), ...fast }),
    ).rejects.toThrow(/MD5 is .* was expected/);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it('reports an error status with the URL and how to use a local copy, without retrying a 404', async () => {
    server.set('/missing.tar.gz', { kind: 'status', status: 404 });
    const cacheDir = await freshCache();
    const url = server.url('/missing.tar.gz');
    const before = server.requests.length;
    const error = await loadCifar({ dataset: 'cifar10', cacheDir, url, ...fast }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const { message } = error as Error;
    expect(message).toContain(url);
    expect(message).toContain('HTTP 404');
    expect(message).toContain('dataDir');
    expect(message).toContain('RESNET_CIFAR10_DIR');
    expect(server.requests.length - before).toBe(1);
  });

  it('retries a 503 the given number of times, then gives up', async () => {
    server.set('/busy.tar.gz', { kind: 'status', status: 503 });
    const cacheDir = await freshCache();
    const url = server.url('/busy.tar.gz');
    const before = server.requests.length;
    await expect(loadCifar({ dataset: 'cifar10', cacheDir, url, retries: 2, ...fast })).rejects.toThrow(
      /HTTP 503.*gave up after 3 attempts/,
    );
    expect(server.requests.length - before).toBe(3);
  });

  it('resumes with a Range request after the connection drops mid-body', async () => {
    const cutAt = Math.floor(archive10.length / 3);
    const cacheDir = await freshCache();
    const until = () => fileHasBytes(join(cacheDir, 'cifar-10-binary.tar.gz.part'));
    server.set('/drop.tar.gz', { kind: 'drop', body: archive10, cutAt, times: 1, until });
    const before = server.requests.length;
    const url = server.url('/drop.tar.gz');
    const data = await loadCifar({
      dataset: 'cifar10',
      cacheDir,
      url,
      md5: md5(archive10),
      retries: 2,
      ...fast,
    });
    expect(data.train.size).toBe(50);
    const asked = server.requests.slice(before);
    expect(asked).toHaveLength(2);
    expect(asked[0]!.range).toBeUndefined();
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(asked[1]!.range ?? '')?.[1]);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThanOrEqual(cutAt);
    expect(asked[1]!.ifRange).toBe('"synthetic-archive-v1"');
  });

  it('keeps an interrupted download as .part only, and a later run resumes it', async () => {
    const cutAt = Math.floor(archive10.length / 2);
    const cacheDir = await freshCache();
    const until = () => fileHasBytes(join(cacheDir, 'cifar-10-binary.tar.gz.part'));
    server.set('/later.tar.gz', { kind: 'drop', body: archive10, cutAt, times: 1, until });
    const url = server.url('/later.tar.gz');
    const options = { dataset: 'cifar10', cacheDir, url, md5: md5(archive10), ...fast } as const;
    await expect(loadCifar({ ...options, retries: 0 })).rejects.toThrow(/connection/);
    // Nothing a later run could take for the complete archive or dataset.
    const left = await filesUnder(cacheDir);
    expect(left.sort()).toEqual(['cifar-10-binary.tar.gz.part', 'cifar-10-binary.tar.gz.part.json']);
    const partSize = (await stat(join(cacheDir, 'cifar-10-binary.tar.gz.part'))).size;
    expect(partSize).toBeGreaterThan(0);
    const before = server.requests.length;
    const data = await loadCifar(options);
    expect(data.train.size).toBe(50);
    expect(server.requests.slice(before).map((r) => r.range)).toEqual([`bytes=${partSize}-`]);
  });

  it('gives up on a stalled connection after the idle timeout and resumes', async () => {
    const cutAt = Math.floor(archive10.length / 4);
    server.set('/stall.tar.gz', { kind: 'stall', body: archive10, cutAt, times: 1 });
    const dest = join(await freshCache(), 'stalled.tar.gz');
    const before = server.requests.length;
    await downloadFile({
      url: server.url('/stall.tar.gz'),
      dest,
      md5: md5(archive10),
      idleTimeoutMs: 300,
      retryDelayMs: 5,
      progress: false,
    });
    expect((await readFile(dest)).equals(archive10)).toBe(true);
    const ranges = server.requests.slice(before).map((r) => r.range);
    expect(ranges).toEqual([undefined, `bytes=${cutAt}-`]);
  });

  it('downloads once when several loads share a cache at the same time', async () => {
    server.set('/shared.tar.gz', { kind: 'file', body: archive10 });
    const cacheDir = await freshCache();
    const options = {
      dataset: 'cifar10',
      cacheDir,
      url: server.url('/shared.tar.gz'),
      md5: md5(archive10),
      ...fast,
    } as const;
    const before = server.requests.length;
    const loaded = await Promise.all([loadCifar(options), loadCifar(options), loadCifar(options)]);
    expect(loaded.map((d) => d.train.size)).toEqual([50, 50, 50]);
    expect(server.requests.slice(before).filter((r) => r.path === '/shared.tar.gz')).toHaveLength(1);
    expect(existsSync(join(cacheDir, 'cifar-10-batches-bin.lock'))).toBe(false);
  });

  it('starts over when the server ignores the Range request', async () => {
    server.set('/norange.tar.gz', { kind: 'drop', body: archive10, cutAt: 1000, times: 1 });
    const cacheDir = await freshCache();
    const url = server.url('/norange.tar.gz');
    const options = { dataset: 'cifar10', cacheDir, url, md5: md5(archive10), ...fast } as const;
    await expect(loadCifar({ ...options, retries: 0 })).rejects.toThrow();
    server.set('/norange.tar.gz', { kind: 'file', body: archive10, ignoreRange: true });
    const data = await loadCifar(options);
    expect(data.test.size).toBe(10);
  });

  it('explains an unreachable server (offline)', async () => {
    // A port that was just free: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`;
    const cacheDir = await freshCache();
    const error = (await loadCifar({ dataset: 'cifar10', cacheDir, url, retries: 1, ...fast }).catch(
      (e) => e,
    )) as Error;
    expect(error.message).toContain(`Could not download CIFAR-10 from ${url}: could not connect`);
    expect(error.message).toContain('offline');
    expect(error.message).toContain(`{ dataDir: '/path/to/cifar-10-batches-bin' }`);
    expect(error.message).toContain(join(cacheDir, 'cifar-10-binary.tar.gz'));
  });

  it('checks and extracts an archive put in the cache by hand, without downloading', async () => {
    const cacheDir = await freshCache();
    const url = server.url('/never-asked.tar.gz');
    await writeFile(join(cacheDir, 'cifar-10-binary.tar.gz'), archive10);
    const data = await loadCifar({ dataset: 'cifar10', cacheDir, url, md5: md5(archive10), ...fast });
    expect(data.train.size).toBe(50);
    expect(server.requests.some((r) => r.path === '/never-asked.tar.gz')).toBe(false);
    const other = await freshCache();
    await writeFile(join(other, 'cifar-10-binary.tar.gz'), archive10.subarray(0, 1000));
    await expect(
      loadCifar({ dataset: 'cifar10', cacheDir: other, url, md5: md5(archive10), ...fast }),
    ).rejects.toThrow(
      /cifar-10-binary\.tar\.gz is already there but its MD5 is .*; delete it to download again/,
    );
  });

  it('says what to do when the dataset is missing and downloading is off', async () => {
    const cacheDir = await freshCache();
    await expect(loadCifar({ dataset: 'cifar100', cacheDir, download: false })).rejects.toThrow(
      /CIFAR-100 is not in .*cifar-100-binary and downloading is turned off.*RESNET_CIFAR100_DIR/,
    );
  });

  it('stays quiet when stderr is not a terminal', async () => {
    expect(process.stderr.isTTY).toBeFalsy();
    server.set('/quiet.tar.gz', { kind: 'file', body: archive10 });
    const cacheDir = await freshCache();
    const write = vi.spyOn(process.stderr, 'write');
    try {
      await loadCifar({
        dataset: 'cifar10',
        cacheDir,
        url: server.url('/quiet.tar.gz'),
        allowUnofficial: true,
      });
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });
});

describe('extraction', () => {
  it('extracts only the expected regular files and nothing outside the target', async () => {
    // An archive with the dataset plus a path escaping upwards, a symlink in place of a member and an extra file.
    const base = join(root.path, 'evil');
    const cwd = join(base, 'a', 'b');
    await mkdir(cwd, { recursive: true });
    await cp(folder10, join(cwd, 'cifar-10-batches-bin'), { recursive: true });
    await writeFile(join(base, 'escaped.txt'), 'outside');
    await writeFile(join(cwd, 'cifar-10-batches-bin', 'extra.bin'), 'not a member');
    await symlink('/etc/hostname', join(cwd, 'cifar-10-batches-bin', 'readme.html'));
    const archive = join(base, 'evil.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd, preservePaths: true }, [
      'cifar-10-batches-bin',
      '../../escaped.txt',
    ]);
    const listed: string[] = [];
    await tar.t({ file: archive, onReadEntry: (e) => listed.push(e.path) });
    expect(listed).toContain('../../escaped.txt');
    const body = await readFile(archive);
    server.set('/evil.tar.gz', { kind: 'file', body });
    const cacheDir = join(base, 'x', 'y', 'cache');
    await mkdir(cacheDir, { recursive: true });
    const data = await loadCifar({
      dataset: 'cifar10',
      cacheDir,
      url: server.url('/evil.tar.gz'),
      md5: md5(body),
      ...fast,
    });
    expect(data.train.size).toBe(50);
    expect(existsSync(join(base, 'x', 'escaped.txt'))).toBe(false);
    expect(existsSync(join(cacheDir, 'escaped.txt'))).toBe(false);
    expect((await filesUnder(cacheDir)).sort()).toEqual(
      [
        'batches.meta.txt',
        'data_batch_1.bin',
        'data_batch_2.bin',
        'data_batch_3.bin',
        'data_batch_4.bin',
        'data_batch_5.bin',
        'test_batch.bin',
      ].map((f) => `cifar-10-batches-bin/${f}`),
    );
  });

  it('refuses an archive that lacks the dataset files', async () => {
    const base = join(root.path, 'empty-archive');
    await mkdir(join(base, 'cifar-10-batches-bin'), { recursive: true });
    await writeFile(join(base, 'cifar-10-batches-bin', 'batches.meta.txt'), 'a\n');
    const archive = join(base, 'a.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: base }, ['cifar-10-batches-bin']);
    const body = await readFile(archive);
    server.set('/lacking.tar.gz', { kind: 'file', body });
    const cacheDir = await freshCache();
    await expect(
      loadCifar({
        dataset: 'cifar10',
        cacheDir,
        url: server.url('/lacking.tar.gz'),
        md5: md5(body),
        ...fast,
      }),
    ).rejects.toThrow(/does not contain cifar-10-batches-bin\/data_batch_1.bin/);
    expect((await filesUnder(cacheDir)).filter((f) => f.startsWith('cifar-10-batches-bin/'))).toEqual([]);
  });
});

describe('where the data is looked for', () => {
  it('takes the dataset folder from RESNET_CIFAR10_DIR, and the cache from RESNET_DATA_DIR', async () => {
    const saved = { ...process.env };
    try {
      process.env['RESNET_CIFAR10_DIR'] = folder10;
      const fromEnv = await loadCifar({ dataset: 'cifar10', allowUnofficial: true, download: false });
      expect(fromEnv.source).toBe(folder10);
      delete process.env['RESNET_CIFAR10_DIR'];
      // RESNET_DATA_DIR is the cache root: a folder holding cifar-10-batches-bin/.
      process.env['RESNET_DATA_DIR'] = join(folder10, '..');
      const fromCache = await loadCifar({ dataset: 'cifar10', allowUnofficial: true, download: false });
      expect(fromCache.source).toBe(join(folder10, '..', 'cifar-10-batches-bin'));
    } finally {
      process.env = saved;
    }
  });

  it('accepts the folder that contains the dataset folder as dataDir', async () => {
    const data = await loadCifar({
      dataset: 'cifar10',
      dataDir: join(folder10, '..'),
      allowUnofficial: true,
    });
    expect(data.source).toBe(folder10);
    await expect(loadCifar({ dataset: 'cifar10', dataDir: root.path })).rejects.toThrow(/holds neither/);
    // A folder that is not there, or a file: each said as it is.
    const missing = join(root.path, 'no-such-folder');
    await expect(loadCifar({ dataset: 'cifar10', dataDir: missing })).rejects.toThrow(
      `${missing} does not exist.`,
    );
    const file = join(folder10, 'data_batch_1.bin');
    await expect(loadCifar({ dataset: 'cifar10', dataDir: file })).rejects.toThrow(
      `${file} is a file, not a folder: give the folder that holds the CIFAR-10 files.`,
    );
  });

  it('defaults the cache to XDG_CACHE_HOME or ~/.cache', () => {
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/resnet-js');
    expect(resolveCacheDir(undefined, { RESNET_DATA_DIR: '/data', XDG_CACHE_HOME: '/x' })).toBe('/data');
    expect(resolveCacheDir('/opt', { RESNET_DATA_DIR: '/data' })).toBe('/opt');
    expect(resolveCacheDir(undefined, {})).toMatch(/\.cache\/resnet-js$/);
  });
});

describe('progress', () => {
  it('shows bytes, rate and time left on a terminal', async () => {
    // A stream that says it is a terminal, as process.stderr does in an interactive shell.
    const terminal = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 160,
    }) as unknown as NodeJS.WriteStream & PassThrough;
    let shown = '';
    terminal.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
    });
    server.set('/shown.tar.gz', { kind: 'file', body: archive10 });
    const dest = join(await freshCache(), 'x.tar.gz');
    await downloadFile({
      url: server.url('/shown.tar.gz'),
      dest,
      label: 'CIFAR-10',
      progressStream: terminal,
    });
    expect(shown).toContain('CIFAR-10 [');
    expect(shown).toContain('100%');
    expect(shown).toMatch(/of \d+(\.\d)? (kB|MB)/);
    expect(shown).toMatch(/\d+(\.\d+)? (B|kB|MB|GB)\/s/);
    expect(shown).toContain('left');
  });
});
