// Runs one job, whoever asks (`bench run`, an array task's share, a queue worker): takes the run folder's lock,
// then trains in a child process (child.ts) that reports progress and its outcome over IPC, while this process
// keeps the lock's lease fresh and the signals (stop.ts). Its event loop is never blocked by a training step,
// so a signal is always seen, and a queue worker renews its job's lock. A training process that dies (out of
// memory, an abort, a crash) is reported with how it ended and the run folder, never as a success.
// `isolation: 'inline'` trains in this process instead (tests of the run itself; no signal handling).
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { assertNoLinks } from '../files.js';
import type { JobOutcome } from './execute.js';
import { describeFailure } from './failure.js';
import { lockRunFolder } from './lock.js';
import type { BackendSettings, FromChild, Progress, ToChild } from './messages.js';
import type { Job } from './plan.js';
import type { StopControl } from './stop.js';

export interface RunJobOptions {
  /** The output folder; the job's run folder is `<out>/<job.folder>`. */
  out: string;
  dataDir?: string;
  settings: BackendSettings;
  /** 'process' (default): train in a child process; 'inline': in this one. */
  isolation?: 'process' | 'inline';
  stop: StopControl;
  /** What holds the run folder, for anyone who finds it locked (`bench run`, `bench worker`). */
  command: string;
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Each logging interval of the run. */
  onProgress?: (progress: Progress) => void;
  /** Inline only: after every training iteration. */
  onIteration?: (iteration: number) => void;
  log?: (line: string) => void;
}

/** The training process's entry and how Node runs it: from source, as `pnpm --filter bench start` does. */
const CHILD_ENTRY = new URL('./child.ts', import.meta.url);
const CHILD_EXEC_ARGV = ['--conditions=@resnet/source', '--import', 'tsx'];

/** A job whose training failed: the message says why and names the run folder. */
export class JobFailedError extends Error {
  constructor(
    message: string,
    readonly job: Job,
    readonly dir: string,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}

export async function runJob(job: Job, options: RunJobOptions): Promise<JobOutcome> {
  const dir = join(options.out, job.folder);
  // Checked before the lock folder is made in it: nothing on the way may lead a write outside --out.
  await assertNoLinks(options.out, dir);
  const lock = await lockRunFolder(dir, options.command);
  try {
    if (options.isolation === 'inline') return await runInline(job, options);
    return await runInChild(job, dir, options, (pid) => lock.setChild(pid), lock.lost);
  } finally {
    await lock.release();
  }
}

async function runInline(job: Job, options: RunJobOptions): Promise<JobOutcome> {
  // Loaded on use: a supervising process never loads TensorFlow.js.
  const { executeJob, initJobBackend } = await import('./execute.js');
  const backend = await initJobBackend(options.settings);
  let iterations = Number.NaN;
  return executeJob(job, backend, {
    out: options.out,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    signal: options.stop.signal,
    progress: options.progress ?? 'auto',
    ...(options.onIteration ? { onIteration: options.onIteration } : {}),
    onRecord: (record) => {
      if (record.type === 'start') iterations = record.iterations;
      if (record.type === 'log') {
        options.onProgress?.({
          iteration: record.iteration,
          iterations,
          imagesPerSecond: record.imagesPerSecond,
          ...(record.trainLoss !== undefined ? { trainLoss: record.trainLoss } : {}),
          ...(record.testError !== undefined ? { testError: record.testError } : {}),
        });
      }
    },
    ...(options.log ? { log: options.log } : {}),
  }).catch(async (error) => {
    throw new JobFailedError(await describeFailure(error), job, join(options.out, job.folder));
  });
}

async function runInChild(
  job: Job,
  dir: string,
  options: RunJobOptions,
  started: (pid: number) => void,
  lost: AbortSignal,
): Promise<JobOutcome> {
  const { stop } = options;
  const child: ChildProcess = fork(CHILD_ENTRY, [], {
    execArgv: CHILD_EXEC_ARGV,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  if (child.pid !== undefined) started(child.pid);
  const send = (message: ToChild) => {
    if (child.connected) child.send(message);
  };
  let outcome: JobOutcome | undefined;
  let failure: string | undefined;
  let killedBy: 'stop' | 'lost' | undefined;
  const onStop = () => send({ type: 'stop', signal: stop.reason ?? 'SIGTERM' });
  const kill = (why: 'stop' | 'lost') => {
    killedBy ??= why;
    child.kill('SIGKILL');
  };
  const onImmediate = () => kill('stop');
  const onLost = () => kill('lost');
  child.on('message', (message: FromChild) => {
    if (message.type === 'progress') options.onProgress?.(message.progress);
    else if (message.type === 'done') outcome = message.outcome;
    else if (message.type === 'failed') failure = message.message;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  send({
    type: 'execute',
    job,
    out: options.out,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    settings: options.settings,
    progress: options.progress ?? 'auto',
  });
  stop.signal.addEventListener('abort', onStop);
  stop.immediate.addEventListener('abort', onImmediate);
  lost.addEventListener('abort', onLost);
  if (stop.signal.aborted) onStop();
  if (stop.immediate.aborted) onImmediate();
  try {
    const { code, signal } = await exit;
    if (outcome) return outcome;
    if (failure !== undefined) throw new JobFailedError(failure, job, dir);
    if (killedBy === 'stop') return { status: 'interrupted', dir, iteration: Number.NaN };
    if (killedBy === 'lost') {
      throw new JobFailedError(
        `the lock of ${dir} was lost (${String(lost.reason)}): another process may have taken the folder over, ` +
          'so its training was stopped at once',
        job,
        dir,
      );
    }
    throw new JobFailedError(
      `the training process of ${job.id} ended without a result: ${describeExit(code, signal)}. ` +
        `Its run folder ${dir} keeps its last checkpoint: run the same command to resume it`,
      job,
      dir,
    );
  } finally {
    stop.signal.removeEventListener('abort', onStop);
    stop.immediate.removeEventListener('abort', onImmediate);
    lost.removeEventListener('abort', onLost);
  }
}

/** How a process ended, in words. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') {
    return 'it was killed (SIGKILL), most often by the system running out of memory (see `dmesg`)';
  }
  if (signal === 'SIGABRT') return 'it aborted (SIGABRT)';
  if (signal === 'SIGSEGV' || signal === 'SIGBUS') return `it crashed (${signal})`;
  if (signal) return `it was ended by ${signal}`;
  return `it exited with status ${code}`;
}
