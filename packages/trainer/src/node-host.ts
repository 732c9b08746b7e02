// The training loop's host in Node: run folders on disk (metrics.jsonl, atomic checksummed checkpoints and
// the one before), the cli-progress display, and SIGINT/SIGTERM.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Checkpoint, loadCheckpoint, removeStaleTemporaries, saveCheckpoint } from './checkpoint.js';
import type { RunPaths, StopSignal, TrainerHost } from './host.js';
import { MetricsLog } from './metrics-file.js';
import { ProgressReporter } from './progress.js';
import { RUN_FILES } from './run-files.js';

export const nodeHost: TrainerHost = {
  files: {
    paths: (runDir: string): RunPaths => ({
      metrics: join(runDir, RUN_FILES.metrics),
      checkpoint: join(runDir, RUN_FILES.checkpoint),
      previous: join(runDir, RUN_FILES.previous),
      final: join(runDir, RUN_FILES.final),
    }),
    async prepare(runDir, paths) {
      await mkdir(runDir, { recursive: true });
      for (const path of [paths.checkpoint, paths.previous, paths.final]) await removeStaleTemporaries(path);
    },
    openMetrics: (path) => new MetricsLog(path),
    saveCheckpoint,
    latestCheckpoint,
  },
  progress: (mode, stream) => new ProgressReporter(mode, stream as NodeJS.WriteStream | undefined),
  onSignals(onFirst) {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal: the person wants out now; the last checkpoint on disk is whole either way.
        remove();
        process.kill(process.pid, signal);
        return;
      }
      stopping = true;
      onFirst(signal as StopSignal);
    };
    const remove = () => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return remove;
  },
};

/**
 * The checkpoint with the most iterations among `paths` that exist (the first wins ties). One that cannot be
 * read (damaged, truncated, foreign) is passed over with a warning naming it, as long as another one can be
 * read; when none can, the first failure is thrown.
 */
async function latestCheckpoint(
  paths: readonly string[],
): Promise<{ checkpoint: Checkpoint | undefined; warnings: string[] }> {
  let best: Checkpoint | undefined;
  const failures: Error[] = [];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    let ckpt: Checkpoint;
    try {
      ckpt = await loadCheckpoint(path);
    } catch (error) {
      failures.push(error as Error);
      continue;
    }
    if (!best || ckpt.iteration > best.iteration) best = ckpt;
  }
  if (failures.length > 0 && !best) throw failures[0]!;
  const warnings = failures.map(
    (f) => `${f.message.replace(/; it cannot be resumed from.*$/, '')}; resuming from ${best!.path} instead`,
  );
  return { checkpoint: best, warnings };
}
