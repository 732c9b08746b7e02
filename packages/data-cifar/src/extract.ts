// Extracts a dataset archive with node-tar: only the dataset's known files, only regular files, never
// outside the target folder. The folder is assembled in a temporary folder and renamed into place, so it
// either appears complete or not at all.
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { type DatasetSpec, requiredFiles } from './datasets.js';
import { removeStaleTemps, tempName } from './temp.js';

const REGULAR_FILE = new Set(['File', 'OldFile', 'ContiguousFile']);

/** Names of the required files missing from `dir`. */
export async function missingFiles(dir: string, spec: DatasetSpec): Promise<string[]> {
  const missing: string[] = [];
  for (const name of requiredFiles(spec)) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info?.isFile()) missing.push(name);
  }
  return missing;
}

/**
 * Extracts `archive` into `<parent>/<spec.folder>` and returns that path. Members other than the dataset's
 * known files (including links, devices and any path that would leave the folder) are skipped.
 */
export async function extractDataset(archive: string, parent: string, spec: DatasetSpec): Promise<string> {
  const allowed = new Set(spec.members.map((m) => `${spec.folder}/${m}`));
  // An extraction killed part-way left its folder behind; its process is gone, so it is removed here.
  await removeStaleTemps(parent);
  const work = await mkdtemp(join(parent, tempName(`extract-${spec.folder}`)));
  try {
    try {
      await tar.x({
        file: archive,
        cwd: work,
        strict: true,
        // Defaults stated: '..' and absolute paths are refused, and no owner or mode is taken from the archive.
        preservePaths: false,
        preserveOwner: false,
        filter: (path, entry) => {
          const name = path.replace(/^(\.\/)+/, '');
          const type = 'type' in entry ? entry.type : 'File';
          return allowed.has(name) && REGULAR_FILE.has(type);
        },
      });
    } catch (error) {
      throw new Error(
        `could not extract ${archive}: ${(error as Error).message}. Delete the file to download it again.`,
      );
    }
    const extracted = join(work, spec.folder);
    const missing = await missingFiles(extracted, spec);
    if (missing.length > 0) {
      throw new Error(
        `${archive} does not contain ${missing.map((m) => `${spec.folder}/${m}`).join(', ')}; it is not the ${spec.title} binary archive. Delete it to download it again.`,
      );
    }
    const target = join(parent, spec.folder);
    await rename(extracted, target);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
