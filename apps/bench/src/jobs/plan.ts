// A table as jobs: one job is one run of one row, (table, row, run), with everything that decides it. The plan
// is deterministic from (table, rows, scale, runs, seed and options): the same command lists the same jobs in
// the same order with the same ids on every machine, so a Slurm array task, a Kubernetes index or a queue can
// name a job by its id, and every job's config is built (and its options checked) before anything runs.
import { join } from 'node:path';
import { getPreset } from '@resnet/models';
import { type DatasetName, type ExperimentRow, getTable, selectRows } from '../experiments.js';
import type { RunConfig, RunModel } from '../run-files.js';
import { getScale, PAPER_ITERATIONS, type Scale, type ScaleName } from '../scales.js';

export type DataChoice = 'cifar10' | 'cifar100' | 'synthetic';

/** What `plan` takes: the table, its rows and runs at a scale, and the options that decide what they compute. */
export interface PlanArgs {
  table: number;
  /** Row ids; every row of the table at the scale when absent or empty. */
  rows?: readonly string[];
  scale: ScaleName;
  /** Runs per row; the scale's default when absent. */
  runs?: number;
  /** A real dataset (keeps the table's rows of that dataset) or generated data; the scale decides when absent. */
  dataset?: DataChoice;
  /** Run k of a row uses seed + k − 1 (default 1). */
  seed?: number;
  /** Replaces the scale's iterations (recorded in each run's config; the schedule is scaled with them). */
  iterations?: number;
  /** Regular expressions over weight names left out of weight decay (recorded in each run's config). */
  noDecay?: readonly string[];
  /** Train on data files that are not the official ones; they are recorded in each config.json as such. */
  allowUnofficialData?: boolean;
}

/** One run of one row: what a run folder holds, and what any machine needs to train it. */
export interface Job {
  /** `<scale>/table<N>/<row>/run<k>`: unique within a plan, and the same wherever the plan is made. */
  id: string;
  table: number;
  row: string;
  run: number;
  runs: number;
  /** The seed given to the plan; this run's seed is `baseSeed + run - 1`. */
  baseSeed: number;
  seed: number;
  preset: string;
  scale: ScaleName;
  dataset: DatasetName;
  data: 'real' | 'synthetic';
  /** The run folder, relative to the output folder: `table<N>/<row>/run<k>`. */
  folder: string;
  iterations?: number;
  noDecay?: string[];
  allowUnofficialData?: boolean;
}

/** The jobs of a table, in the table's row order and then run order; every option is checked first. */
export function planJobs(args: PlanArgs): Job[] {
  const table = getTable(args.table);
  const scale = getScale(args.scale, args.table);
  let rows = selectRows(table, scale.name, args.rows ?? []);
  if (args.dataset === 'cifar10' || args.dataset === 'cifar100') {
    const wanted = args.dataset;
    const mismatched = rows.filter((r) => r.dataset !== wanted);
    if (args.rows && args.rows.length > 0 && mismatched.length > 0) {
      throw new Error(
        `--dataset ${wanted} does not match row(s) ${mismatched.map((r) => `${r.id} (${r.dataset})`).join(', ')}: ` +
          'each row trains on the dataset of its paper row; leave --dataset out or pick rows of that dataset',
      );
    }
    rows = rows.filter((r) => r.dataset === wanted);
    if (rows.length === 0) throw new Error(`table ${table.table} has no ${wanted} rows`);
  }
  for (const pattern of args.noDecay ?? []) {
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new Error(
        `--decay-exclude '${pattern}' is not a regular expression (${(error as Error).message}); ` +
          "give comma-separated regular expressions over weight names, e.g. '_shortcut_gate/bias$'",
      );
    }
  }
  const runs = args.runs ?? scale.runs;
  const baseSeed = args.seed ?? 1;
  const data = rowData(scale, args.dataset);
  const jobs: Job[] = [];
  for (const row of rows) {
    for (let run = 1; run <= runs; run++) {
      const folder = join(`table${table.table}`, row.id, `run${run}`);
      const job: Job = {
        id: `${scale.name}/${folder}`,
        table: table.table,
        row: row.id,
        run,
        runs,
        baseSeed,
        seed: baseSeed + run - 1,
        preset: row.preset,
        scale: scale.name,
        dataset: row.dataset,
        data,
        folder,
        ...(args.iterations !== undefined ? { iterations: args.iterations } : {}),
        ...(args.noDecay && args.noDecay.length > 0 ? { noDecay: [...args.noDecay] } : {}),
        ...(args.allowUnofficialData ? { allowUnofficialData: true } : {}),
      };
      // Builds (and so checks) the run's configuration now, before any job starts.
      jobConfig(job);
      jobs.push(job);
    }
  }
  return jobs;
}

/**
 * The share of task `task` (0-based) of `tasks`: job i of the plan goes to task i mod tasks, so every task
 * gets rows of every depth and the shares' lengths differ by at most one.
 */
export function jobShare<T>(jobs: readonly T[], task: number, tasks: number): T[] {
  if (!Number.isInteger(tasks) || tasks < 1)
    throw new Error(`--tasks must be a positive integer, got ${tasks}`);
  if (!Number.isInteger(task) || task < 0 || task >= tasks) {
    throw new Error(`--task must be between 0 and ${tasks - 1} (--tasks ${tasks}), got ${task}`);
  }
  return jobs.filter((_, i) => i % tasks === task);
}

/** The data a row trains on: its own dataset, or the one `--dataset` names. */
function rowData(scale: Scale, choice: DataChoice | undefined): 'real' | 'synthetic' {
  if (choice === 'synthetic') return 'synthetic';
  if (choice === undefined) return scale.defaultData;
  return 'real';
}

/** The configuration of a job's run (all of config.json but what loading the data and the backend add). */
export function jobConfig(job: Job): RunConfig {
  const table = getTable(job.table);
  const row = table.rows.find((r) => r.id === job.row);
  if (!row) throw new Error(`table ${job.table} has no row '${job.row}'`);
  return runConfig({
    table: job.table,
    row,
    scale: getScale(job.scale, job.table),
    run: job.run,
    runs: job.runs,
    baseSeed: job.baseSeed,
    data: job.data,
    ...(job.iterations !== undefined ? { iterations: job.iterations } : {}),
    ...(job.noDecay ? { noDecay: job.noDecay } : {}),
  });
}

/** Training images of CIFAR-10 and CIFAR-100: what an epoch of an epoch-based protocol counts. */
const CIFAR_TRAIN_IMAGES = 50_000;

/** What `config.json` of a run will hold, before the data and the backend are known. */
export function runConfig(args: {
  table: number;
  row: ExperimentRow;
  scale: Scale;
  run: number;
  runs: number;
  baseSeed: number;
  data: 'real' | 'synthetic';
  /** Replaces the scale's iterations (`run --iterations`); the schedule is scaled with them. */
  iterations?: number;
  /** Weights left out of weight decay (`run --decay-exclude`): regular expressions over weight names. */
  noDecay?: readonly string[];
}): RunConfig {
  const { row, scale } = args;
  const preset = getPreset(row.preset);
  const { unit, shortcut, dimensionIncrease, ...rest } = preset.config;
  // The run is rebuilt from config.json, so a network must be made of registered names only.
  for (const [what, value] of Object.entries({ unit, shortcut, dimensionIncrease })) {
    if (value !== undefined && typeof value !== 'string') {
      throw new Error(
        `preset ${row.preset} gives its ${what} as a function; the bench records each run's network in ` +
          'config.json, so a row must use registered names',
      );
    }
  }
  const depth = scale.depth((unit as string | undefined) ?? 'basic', preset.config.depth);
  const seed = args.baseSeed + args.run - 1;
  // Everything that defines the network is recorded, defaults included, so a folder written before one of
  // them changed is refused rather than mixed with new runs: BN over groups of the batch, and the padding of
  // strided convolutions (Torch's 1 on every side since it replaced tfjs's 'same'; not an option).
  const model: RunModel = {
    ...rest,
    ...(unit !== undefined ? { unit: unit as string } : {}),
    ...(shortcut !== undefined ? { shortcut: shortcut as string } : {}),
    ...(dimensionIncrease !== undefined
      ? { dimensionIncrease: dimensionIncrease as RunModel['dimensionIncrease'] }
      : {}),
    depth,
    seed,
    batchNormGroups: scale.batchNormGroups,
    stridedConvPadding: 'symmetric',
  };
  const batchSize = scale.name === 'paper' && row.batchSize ? row.batchSize : scale.batchSize;
  const protocol = scale.name === 'paper' ? row.protocol : undefined;
  if (protocol && args.iterations !== undefined) {
    throw new Error(
      `row ${row.id} runs ${protocol.epochs} epochs at scale paper; --iterations does not apply to it`,
    );
  }
  let iterations = args.iterations ?? scale.iterations;
  let lrSchedule: RunConfig['lrSchedule'];
  let schedule: string;
  let epochs: RunConfig['epochs'] = null;
  if (protocol) {
    // Every batch is a full one (the source drops the last partial batch), so BN always sees 64 images;
    // fb.resnet.torch runs ⌈50000/64⌉ = 782 batches per epoch, the last of 16 images.
    const itersPerEpoch = Math.floor(CIFAR_TRAIN_IMAGES / batchSize);
    iterations = protocol.epochs * itersPerEpoch;
    epochs = { epochs: protocol.epochs, itersPerEpoch };
    // Torch's epochs are 1-based: `epoch >= 81` holds from the start of the 81st, after 80 epochs.
    lrSchedule = {
      baseLr: 0.1,
      milestones: protocol.lrDropEpochs.map((e) => (e - 1) * itersPerEpoch),
      warmup: null,
    };
    schedule =
      `${protocol.epochs} epochs of ${itersPerEpoch} iterations: lr 0.1, ÷10 at epochs ` +
      `${protocol.lrDropEpochs.join(' and ')} (iterations ${lrSchedule.milestones.join(' and ')}), no warm-up` +
      (protocol.nesterov ? ', Nesterov momentum' : '');
  } else if (iterations === PAPER_ITERATIONS) {
    lrSchedule = { baseLr: 0.1, milestones: [32_000, 48_000], warmup: { iterations: 400, lr: 0.01 } };
    schedule = 'paper: lr 0.1, ÷10 at 32000 and 48000, warm-up 400 iterations at 0.01';
  } else {
    // The paper's shape shrunk to the run: as @resnet/trainer's scaledPaperSchedule.
    lrSchedule = {
      baseLr: 0.1,
      milestones: [Math.round(0.5 * iterations), Math.round(0.75 * iterations)],
      warmup: {
        iterations: scale.warmupIterations ?? Math.max(1, Math.round((400 * iterations) / PAPER_ITERATIONS)),
        lr: 0.01,
      },
    };
    schedule =
      `paper's scaled to ${iterations} iterations: ÷10 at 50% and 75%, ` +
      (scale.warmupIterations === undefined
        ? 'warm-up 1/160 of the run at 0.01'
        : `warm-up ${scale.warmupIterations} iterations at 0.01`);
  }
  return {
    table: args.table,
    row: row.id,
    label: row.label,
    preset: row.preset,
    run: args.run,
    baseSeed: args.baseSeed,
    seed,
    scale: scale.name,
    shrinks:
      args.iterations === undefined
        ? scale.shrinks
        : [...scale.shrinks, `iterations: ${iterations} (--iterations), schedule scaled with them`],
    comparable: scale.comparable && args.data === 'real' && args.iterations === undefined,
    dataset: row.dataset,
    data: args.data,
    model,
    iterations,
    batchSize,
    schedule,
    lrSchedule,
    epochs,
    loss: 'log-softmax',
    optimizer: {
      momentum: 0.9,
      nesterov: protocol?.nesterov ?? false,
      weightDecay: 1e-4,
      noDecay: [...(args.noDecay ?? [])],
    },
    normalization: 'per-channel',
    augment: true,
    evaluateEvery: scale.evaluateEvery,
    testImages: scale.testImages ?? null,
    checkpointEvery: scale.checkpointEvery,
    logEvery: scale.logEvery,
    runs: args.runs,
  };
}
