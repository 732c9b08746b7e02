// How a bench process that supervises training stops: its own signal handlers, in a process whose event loop
// training never blocks (the training runs in a child, run-job.ts), so a signal is always seen at once.
// - The first SIGINT or SIGTERM asks the run to stop at the next iteration boundary, with a checkpoint.
// - A second one, or the grace period running out, stops the training process at once (SIGKILL): the run
//   resumes from its last periodic checkpoint.
// - The exit status is 128 + the first signal's number (130 for Ctrl-C, also after a double Ctrl-C; 143 for
//   SIGTERM), the shells' convention.
// One Ctrl-C can arrive twice: the terminal signals the whole process group, and pnpm relays its own SIGINT
// (and turns its second into a SIGTERM) to the script it runs. A signal within RELAY_MS of the first is taken
// for the same keypress.
import type { ParentWatch } from '../parent-watch.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** What a supervisor of training watches. */
export interface StopControl {
  /** Aborted by the first stop request: stop at the next iteration boundary, with a checkpoint. */
  signal: AbortSignal;
  /** Aborted when the training must end at once. */
  immediate: AbortSignal;
  /** The signal that asked for the stop (undefined: an abort without a signal). */
  readonly reason: StopSignal | undefined;
}

/** A stop control driven by an AbortSignal alone (library callers, tests); it never stops at once. */
export function stopOnAbort(signal: AbortSignal | undefined): StopControl {
  return {
    signal: signal ?? new AbortController().signal,
    immediate: new AbortController().signal,
    reason: undefined,
  };
}

/** The same keypress relayed by pnpm arrives within milliseconds; a person's second Ctrl-C takes longer. */
const RELAY_MS = 1000;

/** The default grace period between the first stop request and stopping the training at once. */
export const DEFAULT_GRACE_SECONDS = 120;

export interface SignalStop extends StopControl {
  /** 128 + the first signal's number once a stop was asked for (a gone package manager counts as SIGTERM). */
  exitCode(): number | undefined;
  dispose(): void;
}

/**
 * Installs SIGINT and SIGTERM handlers on this process (and follows `watch`, the package manager above it)
 * for as long as the returned control is not disposed.
 */
export function stopOnSignals(options: {
  graceSeconds?: number;
  watch?: ParentWatch;
  log?: (line: string) => void;
}): SignalStop {
  const log = options.log ?? ((line: string) => console.error(line));
  const grace = options.graceSeconds ?? DEFAULT_GRACE_SECONDS;
  const first = new AbortController();
  const immediate = new AbortController();
  let reason: StopSignal | undefined;
  let firstAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const request = (signal: StopSignal, why: string) => {
    if (!first.signal.aborted) {
      reason = signal;
      firstAt = Date.now();
      log(
        `\n${why}: the run stops at the end of the iteration in flight, with a checkpoint ` +
          `(${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again, or ${grace} s, to stop at once)`,
      );
      first.abort(signal);
      timer = setTimeout(() => {
        log(`the run did not stop within ${grace} s: stopping it at once`);
        immediate.abort();
      }, grace * 1000);
      timer.unref();
      return;
    }
    if (Date.now() - firstAt < RELAY_MS || immediate.signal.aborted) return;
    log(`${signal} again: stopping at once (the run resumes from its last checkpoint)`);
    immediate.abort();
  };
  const onSigint = () => request('SIGINT', 'SIGINT received');
  const onSigterm = () => request('SIGTERM', 'SIGTERM received');
  const onGone = () => request('SIGTERM', 'the package manager that started this command is gone');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  options.watch?.signal.addEventListener('abort', onGone);
  return {
    signal: first.signal,
    immediate: immediate.signal,
    get reason() {
      return reason;
    },
    exitCode: () => (first.signal.aborted ? (reason === 'SIGINT' ? 130 : 143) : undefined),
    dispose() {
      clearTimeout(timer);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      options.watch?.signal.removeEventListener('abort', onGone);
      options.watch?.stop();
    },
  };
}
