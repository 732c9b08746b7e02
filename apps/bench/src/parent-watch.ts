// Stops a run cleanly when the package manager that started it is gone. `pnpm --filter bench start -- run …`
// runs pnpm → sh → node; a SIGTERM sent to pnpm alone ends pnpm at once without passing it on, which would
// leave the run training, unseen, to its end. So the bench watches the pnpm (or npm) process above it and,
// when it disappears, stops the run as on SIGTERM (through an AbortSignal): checkpoint, exit 143. Linux only
// (it reads /proc); elsewhere, and when no package manager started the bench, nothing is watched.
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

/** A watch on the package manager above this process, from {@link stopWhenGone}. */
export interface ParentWatch {
  /** Aborted once the watched process is gone: hand it to the run, which then stops as on SIGTERM. */
  signal: AbortSignal;
  /** Whether the watched process went away (the command then exits 143, as on SIGTERM). */
  readonly gone: boolean;
  /** Stops watching. */
  stop(): void;
}

/**
 * Watches `pid` (every `everyMs`) and aborts the returned signal when it no longer exists. An abort, not a
 * SIGTERM to this process: a SIGTERM sent to the whole process group reaches this process too and ends pnpm
 * at once, and a second SIGTERM from here would read as "stop at once" and cut the checkpoint short. The
 * timer does not keep the process alive.
 */
export function stopWhenGone(pid: number | undefined, everyMs = 100): ParentWatch {
  const controller = new AbortController();
  let timer: ReturnType<typeof setInterval> | undefined;
  if (pid !== undefined) {
    timer = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(timer);
        controller.abort(new Error(`the package manager that started this run (pid ${pid}) is gone`));
      }
    }, everyMs);
    timer.unref();
  }
  return {
    signal: controller.signal,
    get gone() {
      return controller.signal.aborted;
    },
    stop: () => clearInterval(timer),
  };
}
