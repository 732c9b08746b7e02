// `run --table N`: trains the rows of a table at a scale (or one share of them: --task K --tasks N) and writes
// the table's report.
import type { BackendChoice } from '@resnet/backend';
import { type Command, Option } from 'commander';
import type { DataChoice } from '../jobs/plan.js';
import type { ScaleName } from '../scales.js';
import {
  ALLOW_UNOFFICIAL_HELP,
  backendChoices,
  defaultOut,
  parseInteger,
  parseList,
  parsePositiveInt,
  parseTable,
  RUNS_ROOT,
} from './shared.js';

export interface RunOptions {
  table: number;
  rows?: string[];
  scale: ScaleName;
  runs?: number;
  backend: BackendChoice;
  dataset?: DataChoice;
  dataDir?: string;
  allowUnofficialData?: boolean;
  out?: string;
  seed: number;
  iterations?: number;
  decayExclude?: string[];
  threads?: number;
  stopGrace: number;
}

export function runCommand(program: Command): Command {
  return program
    .command('run')
    .description(
      'train the rows of a table and write its report (re-running resumes and skips finished runs)',
    )
    .requiredOption('--table <n>', 'which table: 1, 2 or 3', parseTable)
    .option('--rows <ids>', 'comma-separated row ids (see `list`); default all', parseList)
    .addOption(
      new Option('--scale <scale>', 'protocol').choices(['paper', 'quick', 'smoke']).default('quick'),
    )
    .option('--runs <n>', 'runs per row (default: 5 at paper scale, 1 otherwise)', parsePositiveInt)
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend').choices(backendChoices).default('auto'),
    )
    .addOption(
      new Option(
        '--dataset <name>',
        "data (default: each row's CIFAR set; synthetic at smoke scale)",
      ).choices(['cifar10', 'cifar100', 'synthetic']),
    )
    .option(
      '--data-dir <dir>',
      'a local copy of the extracted CIFAR folder (or set RESNET_CIFAR10_DIR / RESNET_CIFAR100_DIR)',
    )
    .option('--allow-unofficial-data', ALLOW_UNOFFICIAL_HELP)
    .option('--out <dir>', `where runs and reports go (default: ${RUNS_ROOT}/<scale>)`)
    .option('--seed <n>', 'run k of a row uses seed + k − 1', parseInteger, 1)
    .option(
      '--iterations <n>',
      "train this many iterations instead of the scale's (the schedule is scaled; recorded in config.json)",
      parsePositiveInt,
    )
    .option(
      '--decay-exclude <regexps>',
      "weights left out of weight decay: comma-separated regular expressions over weight names, e.g. '_shortcut_gate/bias$' (b_g of the gates); default none, as the authors' code",
      parseList,
    )
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
      const args = {
        table: options.table,
        scale: options.scale,
        backend: options.backend,
        out,
        seed: options.seed,
        ...(options.rows ? { rows: options.rows } : {}),
        ...(options.runs ? { runs: options.runs } : {}),
        ...(options.iterations ? { iterations: options.iterations } : {}),
        ...(options.threads ? { threads: options.threads } : {}),
        ...(options.decayExclude ? { noDecay: options.decayExclude } : {}),
        ...(options.dataset ? { dataset: options.dataset } : {}),
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(options.allowUnofficialData ? { allowUnofficialData: true } : {}),
      };
      // Every option is checked (the whole plan built) before anything is written or any signal is taken.
      planJobs(args);
      await superviseSignals(options.stopGrace, async (stop) => {
        const outcome = await runTable({ ...args, stop });
        console.log(`\n${outcome.report.reportPath}\n\n${outcome.report.markdown}`);
      });
    });
}
