// File helpers for run folders: text and JSON written through a temporary file and a rename, so a reader
// never sees a half-written result; the temporary files of killed writers removed by the next writer; no
// write that follows a symbolic link planted inside a run folder; a clear message for an output folder that
// cannot be written; and tolerant readers for the files a run leaves behind.
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Writes `value` as pretty JSON to `path`: to `path.tmp-<pid>` first, then renamed over `path`. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes `text` to `path` through `path.tmp-<pid>` and a rename. The temporary file is created exclusively
 * (O_EXCL: never through an existing file or link), and the rename replaces a link at `path` instead of
 * writing through it. Temporary files of the same target left by killed processes are removed first.
 */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await removeStaleTemps(path);
  const tmp = `${path}.tmp-${process.pid}`;
  // A leftover of this very process id (a previous process that had it): it cannot be ours in progress.
  await rm(tmp, { force: true });
  const handle = await open(tmp, 'wx').catch((error) => {
    throw namedWriteError(path, error);
  });
  try {
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw namedWriteError(path, error);
  }
}

/** Whether a process with this id runs (one we may not signal still runs). */
function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `path.tmp-<pid>` files whose writer no longer runs (a write killed between create and rename). */
export async function removeStaleTemps(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || isProcessAlive(pid)) continue;
    await rm(join(dirname(path), name), { force: true });
  }
}

/**
 * Refuses symbolic links inside the output folder `out` on the way to `dir` (the folders below `out`) and
 * among `dir`'s entries: the bench and the trainer write and append there, and must not write through a link
 * to a file outside `out`. `out` itself may be a link: that is the user's choice of where results go.
 */
export async function assertNoLinks(out: string, dir: string): Promise<void> {
  const root = resolve(out);
  const target = resolve(dir);
  const below = relative(root, target);
  if (below === '..' || below.startsWith(`..${sep}`) || isAbsolute(below)) {
    throw new Error(`${dir} is not inside the output folder ${out}`);
  }
  const refuse = async (path: string): Promise<never> => {
    const to = await readlink(path).catch(() => '?');
    throw new Error(
      `${path} is a symbolic link (to ${to}). The bench writes only regular files and folders inside the ` +
        `output folder ${out} and will not write through a link; remove the link, or pass another --out.`,
    );
  };
  let path = root;
  for (const part of below === '' ? [] : below.split(sep)) {
    path = join(path, part);
    const info = await lstat(path).catch(() => undefined);
    if (!info) return;
    if (info.isSymbolicLink()) await refuse(path);
  }
  for (const name of await readdir(target).catch(() => [] as string[])) {
    const entry = join(target, name);
    if ((await lstat(entry)).isSymbolicLink()) await refuse(entry);
  }
}

const UNWRITABLE: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'it, or a folder above it, is a file',
  ENOSPC: 'no space left on the device',
};

/**
 * Proves the output folder writable by creating and removing a file in it, or, when it does not exist yet,
 * in the nearest folder above it that does (where it would be created); a check of permission bits alone is
 * wrong for root and for read-only mounts. Creates nothing, so a run that cannot start leaves no folder.
 * Otherwise it says which folder, why and what to do, instead of a bare `EACCES … mkdir` from deep inside.
 */
export async function prepareOutputFolder(out: string, flag = '--out'): Promise<void> {
  let existing = resolve(out);
  for (;;) {
    const info = await stat(existing).catch(() => undefined);
    if (info) {
      if (!info.isDirectory()) throw unwritable(out, flag, 'ENOTDIR');
      break;
    }
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const probe = join(existing, `.write-test.tmp-${process.pid}`);
  await removeStaleTemps(join(existing, '.write-test'));
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!UNWRITABLE[code]) throw error;
    throw unwritable(out, flag, code);
  }
}

/** `error` with the file it was writing named, when the system's error (ENOSPC, …) names none. */
function namedWriteError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (!UNWRITABLE[code]) return error;
  return Object.assign(
    new Error(
      `cannot write ${path}: ${UNWRITABLE[code]} (${code}); make room or fix the folder, then run the same command`,
      {
        cause: error,
      },
    ),
    { code },
  );
}

function unwritable(out: string, flag: string, code: string): Error {
  return new Error(
    `the output folder ${out} (${flag}) cannot be written: ${UNWRITABLE[code]} (${code}). Pass ${flag} a folder you can write to.`,
  );
}

/** The parsed JSON at `path`, or undefined when the file does not exist. */
export function readJsonIfExists<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message}); delete it to redo that run`);
  }
}

/** The records of a JSON Lines file (an unfinished last line, from an interrupted write, is skipped). */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const records: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as T);
    } catch {
      // Only the last line can be cut short by an interruption; earlier lines were complete when written.
    }
  }
  return records;
}
