// A table's jobs on a BullMQ queue in Redis: what a queued job carries, the queue's name and settings, and
// `enqueue` (the plan's jobs not finished in the shared run folder, with the plan's ids as BullMQ job ids, so
// enqueueing twice adds nothing).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Job } from '../jobs/plan.js';
import { RESULT_FILE } from '../run-files.js';
import { redisClient } from './redis.js';

/** The queue's default name: one queue per shared run folder. */
export const DEFAULT_QUEUE = 'resnet-bench';

/** What a queued job carries: the plan's job (the worker finds its run folder under its own --out). */
export interface QueuedJob {
  job: Job;
}

/** What a finished queue job returns (a diverged run is a result, not a failure). */
export interface QueuedResult {
  status: 'completed' | 'diverged' | 'skipped';
  testErrorPercent: number | null;
  iteration: number;
  wallSeconds: number | null;
  worker: string;
}

/** The progress a worker gives its job each logging interval. */
export interface QueuedProgress {
  iteration: number;
  iterations: number;
  trainLoss?: number;
  imagesPerSecond: number;
  testError?: number;
  worker: string;
  /** When it was reported (ms since the epoch). */
  at: number;
}

export function openQueue(url: string, name: string): Queue<QueuedJob, QueuedResult> {
  return new Queue<QueuedJob, QueuedResult>(name, { connection: redisClient(url) });
}

export interface EnqueueOptions {
  url: string;
  queue: string;
  /** The shared run folder, as this machine sees it. */
  out: string;
  /** Tries of a job before it is marked failed (a failure is a crash or an error, not a diverged run). */
  attempts: number;
  /** Seconds before the first retry, doubled each time. */
  retryDelaySeconds: number;
}

/** Adds every job of `jobs` not finished in `out`; says how many were added, already queued, already done. */
export async function enqueue(
  jobs: readonly Job[],
  options: EnqueueOptions,
): Promise<{ added: string[]; queued: string[]; finished: string[] }> {
  const queue = openQueue(options.url, options.queue);
  try {
    const finished = jobs.filter((job) => existsSync(join(options.out, job.folder, RESULT_FILE)));
    const pending = jobs.filter((job) => !finished.includes(job));
    const queued: string[] = [];
    const added: string[] = [];
    for (const job of pending) {
      if (await queue.getJob(job.id)) queued.push(job.id);
      else added.push(job.id);
    }
    // A job id already in the queue (waiting, running, done or failed) is not added again.
    await queue.addBulk(
      pending
        .filter((job) => added.includes(job.id))
        .map((job) => ({
          name: job.id,
          data: { job },
          opts: {
            jobId: job.id,
            attempts: options.attempts,
            backoff: { type: 'exponential', delay: options.retryDelaySeconds * 1000 },
            removeOnComplete: false,
            removeOnFail: false,
          },
        })),
    );
    return { added, queued, finished: finished.map((job) => job.id) };
  } finally {
    await queue.close();
  }
}
