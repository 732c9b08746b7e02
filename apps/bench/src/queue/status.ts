// `bench status`: where a queued table stands, from the queue alone: per row and run, waiting, running (on
// which worker, at which iteration, when last heard of), done (test error) or failed (the error); then the
// table's progress and an estimate of the time left.
import type { JobState } from 'bullmq';
import { openQueue, type QueuedProgress } from './queue.js';

export interface StatusLine {
  id: string;
  table: number;
  row: string;
  run: number;
  state: string;
  detail: string;
}

export interface QueueStatus {
  lines: StatusLine[];
  counts: Record<string, number>;
  workers: number;
  /** Seconds left at the pace of the running and finished jobs, spread over the workers; null if unknown. */
  secondsLeft: number | null;
}

const STATES: JobState[] = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'];

export async function queueStatus(url: string, name: string, table?: number): Promise<QueueStatus> {
  const queue = openQueue(url, name);
  try {
    const lines: StatusLine[] = [];
    const counts: Record<string, number> = {};
    const done: number[] = [];
    let remaining = 0;
    let activeLeft = 0;
    for (const state of STATES) {
      for (const job of await queue.getJobs(state, 0, -1, true)) {
        if (!job?.data?.job) continue;
        const planned = job.data.job;
        if (table !== undefined && planned.table !== table) continue;
        counts[state] = (counts[state] ?? 0) + 1;
        const progress = (typeof job.progress === 'object' ? job.progress : undefined) as
          | QueuedProgress
          | undefined;
        let detail = '';
        if (state === 'active') {
          detail = progress
            ? `${progress.worker}, iteration ${progress.iteration}/${progress.iterations}` +
              (progress.trainLoss !== undefined ? `, loss ${progress.trainLoss.toFixed(4)}` : '') +
              `, ${progress.imagesPerSecond.toFixed(1)} images/s, last heard ${Math.round((Date.now() - progress.at) / 1000)} s ago`
            : `${job.processedBy ?? 'a worker'}, starting`;
          if (progress && progress.imagesPerSecond > 0 && Number.isFinite(progress.iterations)) {
            const perIteration =
              progress.iteration > 0 && job.processedOn
                ? (Date.now() - job.processedOn) / 1000 / progress.iteration
                : Number.NaN;
            if (Number.isFinite(perIteration))
              activeLeft += (progress.iterations - progress.iteration) * perIteration;
          }
        } else if (state === 'completed') {
          const result = job.returnvalue;
          const error = result?.testErrorPercent;
          detail = `${result?.status ?? 'done'}, test error ${error === null || error === undefined ? 'n/a' : `${error.toFixed(2)}%`}`;
          if (result?.wallSeconds) done.push(result.wallSeconds);
        } else if (state === 'failed') {
          detail = `after ${job.attemptsMade} attempt(s): ${job.failedReason}`;
        } else {
          remaining++;
          if (job.attemptsMade > 0) detail = `${job.attemptsMade} attempt(s) so far`;
        }
        lines.push({
          id: planned.id,
          table: planned.table,
          row: planned.row,
          run: planned.run,
          state,
          detail,
        });
      }
    }
    lines.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    const workers = (await queue.getWorkers()).length;
    const mean = done.length > 0 ? done.reduce((a, b) => a + b, 0) / done.length : undefined;
    const secondsLeft =
      mean === undefined && remaining > 0
        ? null
        : (activeLeft + remaining * (mean ?? 0)) / Math.max(1, workers);
    return { lines, counts, workers, secondsLeft };
  } finally {
    await queue.close();
  }
}
