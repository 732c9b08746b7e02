// Which files of a dataset folder are the official ones. Each data file is checked against the official MD5
// where one is known (every CIFAR-10 file), else against the manifest this package writes, last and
// atomically, when it extracts an archive whose MD5 matched the official archive's (the CIFAR-100 files,
// whose own checksums are published nowhere we could confirm): the manifest holds each extracted file's
// SHA-256, so those files stay verified from then on. writeSyntheticCifar writes the same manifest for its
// generated files, marked as synthetic. A file that differs, or that nothing vouches for, is reported as
// such; loadCifar refuses it unless told otherwise.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CifarName, DatasetSpec } from './datasets.js';

/** The manifest's file name inside a dataset folder. */
export const MANIFEST_FILE = 'resnet-manifest.json';

/**
 * - `official`: the file's MD5 is the official file's;
 * - `official-archive`: its SHA-256 is the one recorded when this package extracted the official archive;
 * - `synthetic`: its SHA-256 is the one recorded when writeSyntheticCifar generated it;
 * - `differs`: it is not the official file (or not what the manifest recorded);
 * - `unverifiable`: no official checksum is known and no manifest vouches for it.
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

export interface Manifest {
  version: 1;
  dataset: CifarName;
  origin: 'official-archive' | 'synthetic';
  /** The archive the files were extracted from (official-archive). */
  archive?: { name: string; md5: string };
  /** The generator's settings (synthetic). */
  synthetic?: { trainCount: number; testCount: number; seed: number };
  /** Every file of the folder this package wrote: bytes and SHA-256. */
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

/** The folder's manifest, or undefined when it has none (or one this version cannot read). */
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
    if (parsed.origin !== 'official-archive' && parsed.origin !== 'synthetic') return undefined;
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

/** What each data file is, from its official MD5 (where known) or the folder's manifest. */
export function checkFiles(
  spec: DatasetSpec,
  hashed: readonly HashedFile[],
  manifest: Manifest | undefined,
): DataFileCheck[] {
  const official = new Map([...spec.trainFiles, ...spec.testFiles].map((f) => [f.name, f.md5]));
  return hashed.map((file): DataFileCheck => {
    const md5 = official.get(file.name);
    if (md5 !== undefined) {
      if (file.md5 === md5) return { ...file, origin: 'official' };
      return {
        ...file,
        origin: 'differs',
        problem: `is not the official ${spec.title} file: its MD5 is ${file.md5}, the official file's is ${md5}`,
      };
    }
    const entry = manifest?.dataset === spec.name ? manifest.files[file.name] : undefined;
    if (!entry) {
      return {
        ...file,
        origin: 'unverifiable',
        problem:
          `cannot be verified: no checksum of the official ${spec.title} file is published, and the folder has ` +
          `no ${MANIFEST_FILE} from an extraction of the official archive (${spec.archiveName}) listing it`,
      };
    }
    if (entry.sha256 !== file.sha256) {
      return {
        ...file,
        origin: 'differs',
        problem: `has changed since it was ${manifest!.origin === 'synthetic' ? 'generated' : 'extracted'}: its SHA-256 is ${file.sha256}, ${MANIFEST_FILE} records ${entry.sha256}`,
      };
    }
    if (manifest!.origin === 'synthetic') {
      return {
        ...file,
        origin: 'synthetic',
        problem: 'was generated by writeSyntheticCifar, not taken from the official archive',
      };
    }
    return { ...file, origin: 'official-archive' };
  });
}
