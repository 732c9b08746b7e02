// `bench worker`: takes one job at a time from the queue and runs it with the bench's one job runner
// (jobs/run-job.ts): the run folder's lock, and the training in a child process. BullMQ renews the job's lock
// from this process's event loop, which a training step never blocks, so a lock lapses only when this worker
// is gone (killed, its machine down): the job then returns to the queue and another worker resumes the run
// from its last checkpoint. Ctrl-C or SIGTERM: the run checkpoints at the next iteration boundary, the job goes
// back to the queue, the worker exits 130/143.
import { hostname } from 'node:os';
import { type Job as BullJob, DelayedError, WaitingError, Worker } from 'bullmq';
import { RunFolderBusyError } from '../jobs/lock.js';
import type { BackendSettings } from '../jobs/messages.js';
import { runJob } from '../jobs/run-job.js';
import type { StopControl } from '../jobs/stop.js';
import { openQueue, type QueuedJob, type QueuedProgress, type QueuedResult } from './queue.js';
import { checkNoEviction, redisClient } from './redis.js';

export interface WorkerOptions {
  url: string;
  queue: string;
  out: string;
  dataDir?: string;
  settings: BackendSettings;
  stop: StopControl;
  /** Seconds a job's lock lasts without renewal (BullMQ's lockDuration; stalled jobs are looked for as often). */
  lockSeconds: number;
  /** Leave once the queue holds no job that is waiting, delayed or running. */
  untilEmpty: boolean;
  log?: (line: string) => void;
}

/** How often a job may be found stalled (its worker gone) before it is failed; a dead worker is expected. */
export const MAX_STALLED = 3;

export async function runWorker(options: WorkerOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  await checkNoEviction(options.url, log);
  const name = `${hostname()}:${process.pid}`;
  const lockMs = options.lockSeconds * 1000;
  let busy = false;
  const processor = async (job: BullJob<QueuedJob, QueuedResult>, token?: string): Promise<QueuedResult> => {
    busy = true;
    try {
      return await execute(job, token);
    } finally {
      busy = false;
    }
  };
  const execute = async (job: BullJob<QueuedJob, QueuedResult>, token?: string): Promise<QueuedResult> => {
    const { job: planned } = job.data;
    log(`${name}: ${planned.id} (attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1})`);
    let outcome: Awaited<ReturnType<typeof runJob>>;
    try {
      outcome = await runJob(planned, {
        out: options.out,
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        settings: options.settings,
        stop: options.stop,
        command: `bench worker, queue job ${planned.id}`,
        progress: 'lines',
        onProgress: (progress) => {
          const update: QueuedProgress = { ...progress, worker: name, at: Date.now() };
          job.updateProgress(update as unknown as object).catch(() => {});
        },
        log,
      });
    } catch (error) {
      if (error instanceof RunFolderBusyError) {
        // Another process still trains this folder (a killed worker's training process finishing its
        // step, or a `bench run`): try again later; this is not a failure of the job.
        log(`${name}: ${error.message}; ${planned.id} is tried again in ${options.lockSeconds} s`);
        await job.moveToDelayed(Date.now() + lockMs, token);
        throw new DelayedError();
      }
      throw error;
    }
    if (outcome.status === 'interrupted') {
      // Stopped by Ctrl-C or SIGTERM: the run has its checkpoint; the job goes back for any worker.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    return {
      status: outcome.status,
      testErrorPercent: outcome.result?.testErrorPercent ?? null,
      iteration: outcome.iteration,
      wallSeconds: outcome.result?.wallSeconds ?? null,
      worker: name,
    };
  };
  const worker = new Worker<QueuedJob, QueuedResult>(options.queue, processor, {
    connection: redisClient(options.url),
    name,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: MAX_STALLED,
    autorun: false,
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    const left = (job.opts.attempts ?? 1) - job.attemptsMade;
    log(`${name}: ${job.id} failed: ${error.message}${left > 0 ? ` (${left} more attempt(s))` : ''}`);
  });
  worker.on('completed', (job, result) => log(`${name}: ${job.id} ${result.status}`));
  let lastError = '';
  worker.on('error', (error) => {
    // Redis gone for a while (restarted, the network): ioredis reconnects; say so once per kind of error.
    if (error.message !== lastError) log(`${name}: ${error.message} (retrying)`);
    lastError = error.message;
  });
  const closed = new Promise<void>((resolve) => {
    options.stop.signal.addEventListener('abort', () => void worker.close().then(resolve), { once: true });
  });
  let idleCheck: ReturnType<typeof setInterval> | undefined;
  if (options.untilEmpty) {
    const queue = openQueue(options.url, options.queue);
    idleCheck = setInterval(async () => {
      if (busy) return;
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) {
        clearInterval(idleCheck);
        await queue.close();
        await worker.close();
      }
    }, 2000);
  }
  log(`${name}: taking jobs from queue ${options.queue} at ${options.url}, run folders under ${options.out}`);
  await Promise.race([worker.run(), closed]);
  clearInterval(idleCheck);
  await worker.close();
}
