// Names for the temporary files and folders this package writes beside its results (an extraction in
// progress, a dataset being generated), and their cleanup: a name carries the writer's process id, so what a
// killed process left behind is recognised (its process is gone) and removed by the next writer.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = '.resnet-tmp-';
const PATTERN = /^\.resnet-tmp-(\d+)-/;

/** A temporary name for `label`, unique to this process when `mkdtemp` (or a random suffix) completes it. */
export function tempName(label: string, unique = false): string {
  const base = `${PREFIX}${process.pid}-${label}-`;
  return unique ? `${base}${Math.random().toString(36).slice(2, 10)}` : base;
}

/** Whether a process with this id runs (one we may not signal still runs). */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary files and folders in `dir` whose writing process no longer runs. */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = PATTERN.exec(name)?.[1];
    if (pid === undefined || isProcessAlive(Number(pid))) continue;
    await rm(join(dir, name), { recursive: true, force: true });
  }
}
