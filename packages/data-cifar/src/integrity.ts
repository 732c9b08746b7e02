// Which files of a dataset folder are the official ones, decided by their content alone. Each data file is
// checked against the official MD5 where one is known (every CIFAR-10 file), else against the same file inside
// the official archive (the CIFAR-100 files, whose own checksums are published nowhere we could confirm): the
// archive is kept in the cache when loadCifar downloads it, and it vouches for a file only while its own MD5 is
// the official archive's. Each split must also hold the official number of records. Nothing a folder says
// about itself counts: a manifest is written only by writeSyntheticCifar, and it can only mark files as
// generated (less than official), never as official.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import type { CifarName, DatasetSpec } from './datasets.js';
import { md5File } from './download.js';

/** The manifest's file name inside a dataset folder. */
export const MANIFEST_FILE = 'resnet-manifest.json';

/**
 * - `official`: the file's MD5 is the official file's, and its split holds the official number of records;
 * - `official-archive`: its SHA-256 is that of the same file in the official archive (itself checked by its
 *   official MD5), and its split holds the official number of records;
 * - `synthetic`: its SHA-256 is the one recorded when writeSyntheticCifar generated it;
 * - `differs`: it is not the official file (or not what the generator recorded);
 * - `unverifiable`: no official checksum is known and the official archive is not at hand to compare with.
 */
export type FileOrigin = 'official' | 'official-archive' | 'synthetic' | 'differs' | 'unverifiable';

/** One data file as read, with what its check found. */
export interface DataFileCheck {
  split: 'train' | 'test';
  name: string;
  bytes: number;
  records: number;
  sha256: string;
  md5: string;
  origin: FileOrigin;
  /** Why the file is not verified as official (`differs`, `unverifiable`, `synthetic`). */
  problem?: string;
}

/** Whether a check vouches for the file being the official one. */
export function isOfficial(origin: FileOrigin): boolean {
  return origin === 'official' || origin === 'official-archive';
}

/** What writeSyntheticCifar records in a folder it generated. */
export interface Manifest {
  version: 1;
  dataset: CifarName;
  origin: 'synthetic';
  /** The generator's settings. */
  synthetic?: { trainCount: number; testCount: number; seed: number };
  /** Every file of the folder the generator wrote: bytes and SHA-256. */
  files: Record<string, { bytes: number; sha256: string }>;
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Writes `manifest` into `folder` through a temporary file, a flush and a rename: it appears complete or not
 * at all. Callers write it after every file it lists.
 */
export async function writeManifest(folder: string, manifest: Manifest): Promise<void> {
  const path = join(folder, MANIFEST_FILE);
  const temp = `${path}.tmp-${process.pid}`;
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * The folder's generator manifest, or undefined when it has none (or one this version cannot read). Older
 * versions also wrote one marked `official-archive` at extraction: it is ignored, since a label proves nothing.
 */
export async function readManifest(folder: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, MANIFEST_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Manifest>;
    if (parsed.version !== 1 || typeof parsed.files !== 'object' || parsed.files === null) return undefined;
    if (parsed.origin !== 'synthetic') return undefined;
    return parsed as Manifest;
  } catch {
    return undefined;
  }
}

/** The manifest entries of the given files of `folder`, hashed now. */
export async function describeFiles(folder: string, names: readonly string[]): Promise<Manifest['files']> {
  const files: Manifest['files'] = {};
  for (const name of names) {
    const path = join(folder, name);
    const handle = await open(path, 'r');
    const { size } = await handle.stat().finally(() => handle.close());
    files[name] = { bytes: size, sha256: await sha256File(path) };
  }
  return files;
}

/** A data file as read: its size, record count and hashes. */
export interface HashedFile {
  split: 'train' | 'test';
  name: string;
  bytes: number;
  records: number;
  sha256: string;
  md5: string;
}

/** Each data file of the official archive, by name: bytes and SHA-256. */
export type ArchiveFiles = Map<string, { bytes: number; sha256: string }>;

const archiveMemo = new Map<string, { key: string; files: ArchiveFiles | undefined }>();

/**
 * The SHA-256 of every data file inside the archive at `archive`, when it is the official archive (its MD5 is
 * `spec.archiveMd5`); undefined when there is no file there or it is another archive. Read once per process
 * for a given file (path, size and modification time).
 */
export async function officialArchiveFiles(
  archive: string,
  spec: DatasetSpec,
): Promise<ArchiveFiles | undefined> {
  const info = await stat(archive).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const key = `${spec.archiveMd5}:${info.size}:${info.mtimeMs}`;
  const memo = archiveMemo.get(archive);
  if (memo?.key === key) return memo.files;
  const files = (await md5File(archive)) === spec.archiveMd5 ? await hashMembers(archive, spec) : undefined;
  archiveMemo.set(archive, { key, files });
  return files;
}

/** SHA-256 and size of the archive's data files (`<folder>/<name>`), streamed out of the archive. */
async function hashMembers(archive: string, spec: DatasetSpec): Promise<ArchiveFiles> {
  const names = new Set([...spec.trainFiles, ...spec.testFiles].map((f) => `${spec.folder}/${f.name}`));
  const files: ArchiveFiles = new Map();
  await tar.t({
    file: archive,
    onReadEntry: (entry) => {
      const path = entry.path.replace(/^(\.\/)+/, '');
      if (!names.has(path)) {
        entry.resume();
        return;
      }
      const hash = createHash('sha256');
      let bytes = 0;
      entry.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      entry.on('end', () => {
        files.set(path.slice(spec.folder.length + 1), { bytes, sha256: hash.digest('hex') });
      });
    },
  });
  return files;
}

/**
 * What each data file is, by content: its official MD5 (where known), else the same file in the official
 * archive (`archive`, from {@link officialArchiveFiles}); a generator's manifest can only mark a file as
 * synthetic. A file verified so far whose split does not hold the official number of records is `differs`.
 */
export function checkFiles(
  spec: DatasetSpec,
  hashed: readonly HashedFile[],
  { archive, manifest }: { archive?: ArchiveFiles | undefined; manifest?: Manifest | undefined } = {},
): DataFileCheck[] {
  const official = new Map([...spec.trainFiles, ...spec.testFiles].map((f) => [f.name, f.md5]));
  const checked = hashed.map((file): DataFileCheck => {
    const md5 = official.get(file.name);
    if (md5 !== undefined) {
      if (file.md5 === md5) return { ...file, origin: 'official' };
      return {
        ...file,
        origin: 'differs',
        problem: `is not the official ${spec.title} file: its MD5 is ${file.md5}, the official file's is ${md5}`,
      };
    }
    const inArchive = archive?.get(file.name);
    if (inArchive) {
      if (inArchive.sha256 === file.sha256) return { ...file, origin: 'official-archive' };
      return {
        ...file,
        origin: 'differs',
        problem: `is not the file of the official ${spec.archiveName}: its SHA-256 is ${file.sha256}, the archive's is ${inArchive.sha256}`,
      };
    }
    const entry = manifest?.dataset === spec.name ? manifest.files[file.name] : undefined;
    if (entry && entry.sha256 === file.sha256) {
      return {
        ...file,
        origin: 'synthetic',
        problem: 'was generated by writeSyntheticCifar, not taken from the official archive',
      };
    }
    if (entry) {
      return {
        ...file,
        origin: 'differs',
        problem: `has changed since it was generated: its SHA-256 is ${file.sha256}, ${MANIFEST_FILE} records ${entry.sha256}`,
      };
    }
    return {
      ...file,
      origin: 'unverifiable',
      problem:
        `cannot be verified: no checksum of the official ${spec.title} file is published, and the official ` +
        `archive (${spec.archiveName}) is not in the cache to compare it with`,
    };
  });
  for (const split of ['train', 'test'] as const) {
    const files = checked.filter((f) => f.split === split);
    const records = files.reduce((sum, f) => sum + f.records, 0);
    const expected = spec.officialRecords[split];
    if (records === expected) continue;
    for (const file of files) {
      if (!isOfficial(file.origin)) continue;
      Object.assign(file, {
        origin: 'differs',
        problem: `belongs to a ${split} split of ${records.toLocaleString('en-US')} records; the official one has ${expected.toLocaleString('en-US')}`,
      });
    }
  }
  return checked;
}
