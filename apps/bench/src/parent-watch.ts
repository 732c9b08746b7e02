// Stops a run cleanly when the package manager that started it is gone. `pnpm --filter bench start -- run …`
// runs pnpm → sh → node; a SIGTERM sent to pnpm alone ends pnpm at once without passing it on, which would
// leave the run training, unseen, to its end. So the bench watches the pnpm (or npm) process above it and,
// when it disappears, stops as on SIGTERM: checkpoint, exit 143. Linux only (it reads /proc); elsewhere, and
// when no package manager started the bench, nothing is watched.
import { readFileSync } from 'node:fs';

/** The package-manager process above this one (pid), found through /proc; undefined when there is none. */
export function packageManagerAncestor(): number | undefined {
  if (process.platform !== 'linux' || !process.env['npm_lifecycle_event']) return undefined;
  let pid = process.ppid;
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmdline.some((arg) => /(^|\/)(pnpm|npm)(\.c?js)?$/.test(arg))) return pid;
      // Field 4 of /proc/<pid>/stat is the parent's pid (after the command name in parentheses).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Sends this process a SIGTERM when `pid` no longer exists (checked every `everyMs`); returns the function
 * that stops watching. The timer does not keep the process alive.
 */
export function stopWhenGone(pid: number | undefined, everyMs = 100): () => void {
  if (pid === undefined) return () => {};
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
