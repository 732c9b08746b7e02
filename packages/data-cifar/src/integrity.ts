// A dataset folder's manifest on disk (the checks themselves are in checks.ts): this package writes it, last
// and atomically, when it extracts an archive whose MD5 matched the official archive's (the CIFAR-100 files,
// whose own checksums are published nowhere we could confirm): the manifest holds each extracted file's
// SHA-256, so those files stay verified from then on. writeSyntheticCifar writes the same manifest for its
// generated files, marked as synthetic.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, type Manifest } from './checks.js';

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
