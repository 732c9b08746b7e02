// The signal handling of the commands that train (run, demo, worker): a stop control on this process's
// signals and on the package manager above it, the exit status it asks for, and nothing left installed after.

import { type StopControl, stopOnSignals } from '../jobs/stop.js';
import { packageManagerAncestor, stopWhenGone } from '../parent-watch.js';

/**
 * Runs `body` with a stop control on SIGINT/SIGTERM (first: checkpoint at the next iteration boundary; second
 * or after `graceSeconds`: stop at once), then sets the exit status to 128 + the first signal's number when
 * one came: 130 for Ctrl-C, 143 for SIGTERM. pnpm ends at once on a SIGTERM sent to it alone: that counts as
 * a SIGTERM here.
 */
export async function superviseSignals(
  graceSeconds: number,
  body: (stop: StopControl) => Promise<void>,
): Promise<void> {
  const stop = stopOnSignals({ graceSeconds, watch: stopWhenGone(packageManagerAncestor()) });
  try {
    await body(stop);
  } finally {
    stop.dispose();
    const code = stop.exitCode();
    if (code !== undefined) process.exitCode = code;
  }
}
