// `run --table N`: trains the rows of a table at a scale (or one share of them: --task K --tasks N, or
// --task-from-env in a Slurm or Kubernetes array) and writes the table's report.
import type { BackendChoice } from '@resnet/backend';
import { type Command, Option } from 'commander';
import {
  addPlanOptions,
  addShareOptions,
  type PlanOptions,
  planArgsOf,
  type ShareOptions,
  shareOf,
} from './plan-options.js';
import { backendChoices, defaultOut, parsePositiveInt, RUNS_ROOT } from './shared.js';

export interface RunOptions extends PlanOptions, ShareOptions {
  backend: BackendChoice;
  dataDir?: string;
  out?: string;
  threads?: number;
  stopGrace: number;
}

export function runCommand(program: Command): Command {
  const command = program
    .command('run')
    .description(
      'train the rows of a table and write its report (re-running resumes and skips finished runs)',
    );
  addPlanOptions(command);
  addShareOptions(command);
  return command
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend').choices(backendChoices).default('auto'),
    )
    .option(
      '--data-dir <dir>',
      'a local copy of the extracted CIFAR folder (or set RESNET_CIFAR10_DIR / RESNET_CIFAR100_DIR)',
    )
    .option('--out <dir>', `where runs and reports go (default: ${RUNS_ROOT}/<scale>)`)
    .option('--threads <n>', 'wasm threads (default: every core, at most 8)', parsePositiveInt)
    .option(
      '--stop-grace <seconds>',
      'after the first Ctrl-C or SIGTERM, stop the training at once if it has not checkpointed within this time',
      parsePositiveInt,
      120,
    )
    .action(async (options: RunOptions) => {
      const { runTable } = await import('../runner.js');
      const { planJobs } = await import('../jobs/plan.js');
      const { superviseSignals } = await import('./supervise.js');
      const out = options.out ?? defaultOut(options.scale);
      const plan = planArgsOf(options);
      // Every option is checked (the whole plan built) before anything is written or any signal is taken.
      planJobs(plan);
      const share = await shareOf(options);
      if (share) console.log(`share ${share.task} of ${share.tasks} (${share.source})`);
      await superviseSignals(options.stopGrace, async (stop) => {
        const outcome = await runTable({
          ...plan,
          backend: options.backend,
          out,
          stop,
          ...(share ? { share } : {}),
          ...(options.threads ? { threads: options.threads } : {}),
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        });
        console.log(`\n${outcome.report.reportPath}\n\n${outcome.report.markdown}`);
      });
    });
}
