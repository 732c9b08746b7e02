// A dataset folder's files on disk: their hashes, the generator's manifest (written by writeSyntheticCifar,
// read back to tell its files apart), and the data files inside the official archive kept in the cache, which
// vouch for files that have no published checksum of their own (CIFAR-100's). The checks themselves, pure
// functions over hashes, are in checks.ts.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { type ArchiveFiles, MANIFEST_FILE, type Manifest } from './checks.js';
import type { DatasetSpec } from './datasets.js';
import { md5File } from './download.js';

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
