// Small file helpers for run folders: JSON written through a temporary file and a rename, so a reader never
// sees a half-written result, and tolerant readers for the files a run leaves behind.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes `value` as pretty JSON to `path`: to `path.tmp-<pid>` first, then renamed over `path`. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Writes `text` to `path` through a temporary file and a rename. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
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
