// The work queue's commands (BullMQ on Redis): `enqueue` a table's jobs, run a `worker` on each machine of the
// pool, and see the table's `status`. See src/queue/.
import type { BackendChoice } from '@resnet/backend';
import { type Command, Option } from 'commander';
import { addPlanOptions, type PlanOptions, planArgsOf } from './plan-options.js';
import { backendChoices, defaultOut, parsePositiveInt, parseTable, RUNS_ROOT } from './shared.js';

const REDIS_HELP = 'the Redis the queue lives in, e.g. redis://queue-host:6379 (maxmemory-policy noeviction)';
const QUEUE_HELP = 'the queue’s name: one queue per shared run folder';

export function enqueueCommand(program: Command): Command {
  const command = program
    .command('enqueue')
    .description(
      "add a table's jobs not finished in the shared run folder to a BullMQ queue (twice adds nothing)",
    );
  addPlanOptions(command);
  return command
    .requiredOption('--redis <url>', REDIS_HELP)
    .option('--queue <name>', QUEUE_HELP, 'resnet-bench')
    .option('--out <dir>', `the shared run folder, as this machine sees it (default: ${RUNS_ROOT}/<scale>)`)
    .option(
      '--attempts <n>',
      'tries of a job before it is marked failed (a diverged run is a result)',
      parsePositiveInt,
      3,
    )
    .option('--retry-delay <seconds>', 'wait before the first retry, doubled each time', parseNonNegative, 60)
    .action(
      async (
        options: PlanOptions & {
          redis: string;
          queue: string;
          out?: string;
          attempts: number;
          retryDelay: number;
        },
      ) => {
        const { planJobs } = await import('../jobs/plan.js');
        const { enqueue } = await import('../queue/queue.js');
        const jobs = planJobs(planArgsOf(options));
        const result = await enqueue(jobs, {
          url: options.redis,
          queue: options.queue,
          out: options.out ?? defaultOut(options.scale),
          attempts: options.attempts,
          retryDelaySeconds: options.retryDelay,
        });
        console.log(
          `${result.added.length} job(s) added to ${options.queue}, ${result.queued.length} already in it, ` +
            `${result.finished.length} already finished in the run folder (of ${jobs.length})`,
        );
      },
    );
}

export function workerCommand(program: Command): Command {
  return program
    .command('worker')
    .description('take jobs from a BullMQ queue one at a time and train each in its own process')
    .requiredOption('--redis <url>', REDIS_HELP)
    .option('--queue <name>', QUEUE_HELP, 'resnet-bench')
    .requiredOption('--out <dir>', 'the shared run folder, as this machine sees it')
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend').choices(backendChoices).default('auto'),
    )
    .option('--threads <n>', 'wasm threads (default: every core, at most 8)', parsePositiveInt)
    .option('--data-dir <dir>', 'a local copy of the extracted CIFAR folder on this machine')
    .option(
      '--lock-seconds <s>',
      'a job whose worker is not heard of for this long returns to the queue for another worker',
      parsePositiveInt,
      30,
    )
    .option('--until-empty', 'leave once the queue has no job waiting, delayed or running')
    .option(
      '--stop-grace <seconds>',
      'after the first Ctrl-C or SIGTERM, stop the training at once if it has not checkpointed within this time',
      parsePositiveInt,
      120,
    )
    .action(
      async (options: {
        redis: string;
        queue: string;
        out: string;
        backend: BackendChoice;
        threads?: number;
        dataDir?: string;
        lockSeconds: number;
        untilEmpty?: boolean;
        stopGrace: number;
      }) => {
        const { runWorker } = await import('../queue/worker.js');
        const { superviseSignals } = await import('./supervise.js');
        await superviseSignals(options.stopGrace, (stop) =>
          runWorker({
            url: options.redis,
            queue: options.queue,
            out: options.out,
            ...(options.dataDir ? { dataDir: options.dataDir } : {}),
            settings: {
              backend: options.backend,
              ...(options.threads ? { threads: options.threads } : {}),
            },
            stop,
            lockSeconds: options.lockSeconds,
            untilEmpty: options.untilEmpty ?? false,
          }),
        );
      },
    );
}

export function statusCommand(program: Command): Command {
  return program
    .command('status')
    .description("a queued table's jobs: waiting, running (where, how far), done (test error), failed (why)")
    .requiredOption('--redis <url>', REDIS_HELP)
    .option('--queue <name>', QUEUE_HELP, 'resnet-bench')
    .option('--table <n>', 'only this table', parseTable)
    .option('--json', 'print the jobs and counts as JSON')
    .action(async (options: { redis: string; queue: string; table?: number; json?: boolean }) => {
      const { queueStatus } = await import('../queue/status.js');
      const status = await queueStatus(options.redis, options.queue, options.table);
      if (options.json) {
        console.log(JSON.stringify(status, null, 2));
        return;
      }
      for (const line of status.lines) {
        console.log(`${line.id.padEnd(44)} ${line.state.padEnd(10)} ${line.detail}`);
      }
      const total = status.lines.length;
      const finished = (status.counts['completed'] ?? 0) + (status.counts['failed'] ?? 0);
      const left =
        status.secondsLeft === null
          ? 'time left: unknown until a job has finished'
          : `about ${formatDuration(status.secondsLeft)} left at this pace`;
      console.log(
        `\n${finished}/${total} finished (${status.counts['completed'] ?? 0} done, ${status.counts['failed'] ?? 0} failed), ` +
          `${status.counts['active'] ?? 0} running on ${status.workers} worker(s); ${left}`,
      );
    });
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a number ≥ 0, got '${value}'`);
  return n;
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
