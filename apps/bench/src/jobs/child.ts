// The training process of one job: started by run-job.ts with an IPC channel, it initialises the backend,
// executes the job (execute.ts) and reports progress and the outcome. It never ends itself on a signal: the
// terminal's Ctrl-C reaches it too (it shares the process group), and it only asks the run to stop at the next
// iteration boundary, as the supervisor does; stopping at once is the supervisor's call (it kills this
// process). When the supervisor is gone (it holds the run folder's lock), this process writes nothing more.
import { exitOnEscapedErrors } from '../process-errors.js';

exitOnEscapedErrors();

const { describeFailure } = await import('./failure.js');
const controller = new AbortController();
const stop = (signal: 'SIGINT' | 'SIGTERM') => {
  if (!controller.signal.aborted) controller.abort(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Without its supervisor the run folder is no longer locked: leave at once rather than write into it.
process.on('disconnect', () => process.exit(1));

const send = (message: import('./messages.js').FromChild): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send || !process.connected) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });

process.on('message', (message: import('./messages.js').ToChild) => {
  if (message.type === 'stop') stop(message.signal);
  else if (message.type === 'execute') void execute(message);
});

async function execute(message: Extract<import('./messages.js').ToChild, { type: 'execute' }>) {
  try {
    const { executeJob, initJobBackend } = await import('./execute.js');
    const backend = await initJobBackend(message.settings);
    let iterations = Number.NaN;
    const outcome = await executeJob(message.job, backend, {
      out: message.out,
      ...(message.dataDir ? { dataDir: message.dataDir } : {}),
      signal: controller.signal,
      progress: message.progress,
      onRecord: (record) => {
        if (record.type === 'start') iterations = record.iterations;
        if (record.type !== 'log') return;
        void send({
          type: 'progress',
          progress: {
            iteration: record.iteration,
            iterations,
            ...(record.trainLoss !== undefined ? { trainLoss: record.trainLoss } : {}),
            imagesPerSecond: record.imagesPerSecond,
            ...(record.testError !== undefined ? { testError: record.testError } : {}),
          },
        });
      },
    });
    await send({ type: 'done', outcome });
    process.exitCode = 0;
  } catch (error) {
    await send({ type: 'failed', message: await describeFailure(error) });
    if (process.env['RESNET_BENCH_DEBUG']) console.error(error);
    process.exitCode = 1;
  }
  process.disconnect?.();
  const { disposeWebgpu } = await import('@resnet/backend');
  await disposeWebgpu().catch(() => {});
  process.exit();
}
