// The options that make a plan (table, rows, scale, runs, data, seed, iterations, weight decay), shared by
// `run`, `plan` and `enqueue` so that the same words give the same jobs, and the share options of `run` and
// `plan` (--task K --tasks N, --task-from-env).
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { DataChoice, PlanArgs } from '../jobs/plan.js';
import type { ScaleName } from '../scales.js';
import { ALLOW_UNOFFICIAL_HELP, parseInteger, parseList, parsePositiveInt, parseTable } from './shared.js';

export interface PlanOptions {
  table: number;
  rows?: string[];
  scale: ScaleName;
  runs?: number;
  dataset?: DataChoice;
  allowUnofficialData?: boolean;
  seed: number;
  iterations?: number;
  decayExclude?: string[];
}

export interface ShareOptions {
  task?: number;
  tasks?: number;
  taskFromEnv?: boolean;
}

export function addPlanOptions(command: Command): Command {
  return command
    .requiredOption('--table <n>', 'which table: 1, 2 or 3', parseTable)
    .option('--rows <ids>', 'comma-separated row ids (see `list`); default all', parseList)
    .addOption(
      new Option('--scale <scale>', 'protocol').choices(['paper', 'quick', 'smoke']).default('quick'),
    )
    .option('--runs <n>', 'runs per row (default: 5 at paper scale, 1 otherwise)', parsePositiveInt)
    .addOption(
      new Option(
        '--dataset <name>',
        "data (default: each row's CIFAR set; synthetic at smoke scale)",
      ).choices(['cifar10', 'cifar100', 'synthetic']),
    )
    .option('--allow-unofficial-data', ALLOW_UNOFFICIAL_HELP)
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
    );
}

export function addShareOptions(command: Command): Command {
  return command
    .option(
      '--task <k>',
      'run only share K (0-based) of --tasks N: job i of the plan (see `plan`) belongs to share i mod N',
      parseNonNegative,
    )
    .option('--tasks <n>', 'the number of shares the plan is cut into', parsePositiveInt)
    .option(
      '--task-from-env',
      'take K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, JOB_COMPLETIONS)',
    );
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected an integer ≥ 0, got '${value}'`);
  return n;
}

export function planArgsOf(options: PlanOptions): PlanArgs {
  return {
    table: options.table,
    scale: options.scale,
    seed: options.seed,
    ...(options.rows ? { rows: options.rows } : {}),
    ...(options.runs ? { runs: options.runs } : {}),
    ...(options.iterations ? { iterations: options.iterations } : {}),
    ...(options.decayExclude ? { noDecay: options.decayExclude } : {}),
    ...(options.dataset ? { dataset: options.dataset } : {}),
    ...(options.allowUnofficialData ? { allowUnofficialData: true } : {}),
  };
}

/** The share asked for, if any, and where it came from; an incomplete pair of options is refused. */
export async function shareOf(
  options: ShareOptions,
): Promise<{ task: number; tasks: number; source: string } | undefined> {
  if (options.taskFromEnv) {
    if (options.task !== undefined) throw new Error('pass either --task or --task-from-env, not both');
    const { taskFromEnv } = await import('../jobs/task-env.js');
    return taskFromEnv(process.env, options.tasks);
  }
  if (options.task === undefined && options.tasks === undefined) return undefined;
  if (options.task === undefined || options.tasks === undefined) {
    throw new Error('--task K and --tasks N go together (or use --task-from-env)');
  }
  return {
    task: options.task,
    tasks: options.tasks,
    source: `--task ${options.task} --tasks ${options.tasks}`,
  };
}
