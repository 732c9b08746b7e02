// Runs the rows of a table: for every row and run, builds the network from its preset at the scale's depth,
// trains it with the paper's recipe (scaled with the iterations) and leaves config.json, metrics.jsonl, a
// checkpoint and finally result.json in the run's folder. A run with a result.json is skipped; a run without
// one resumes from its last checkpoint, so re-running the same command carries on where it stopped.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendChoice, type BackendInfo, initBackend } from '@resnet/backend';
import { getPreset } from '@resnet/models';
import * as tf from '@tensorflow/tfjs-core';
import { configDifferences, describeDifferences } from './config-diff.js';
import { dataIdentity, describeDataChange, type LoadedData, loadData, SMOKE_DATA, sameData } from './data.js';
import { describeDevice, gitCommit } from './environment.js';
import { type ExperimentRow, getTable, selectRows } from './experiments.js';
import { assertNoLinks, prepareOutputFolder, readJsonIfExists, writeJsonAtomic } from './files.js';
import { type TableReport, writeTableReport } from './report.js';
import {
  CONFIG_FILE,
  RESULT_FILE,
  type RunConfig,
  type RunEnvironment,
  type RunResult,
  runDir,
} from './run-files.js';
import { getScale, PAPER_ITERATIONS, type Scale, type ScaleName } from './scales.js';
import { trainRun } from './train-run.js';

export type DataChoice = 'cifar10' | 'cifar100' | 'synthetic';

export interface RunTableArgs {
  /** Table number (1, 2 or 3). */
  table: number;
  /** Row ids; all rows of the table at the scale when empty. */
  rows?: readonly string[];
  scale: ScaleName;
  /** Runs per row; the scale's default when absent. */
  runs?: number;
  backend?: BackendChoice;
  /** A real dataset (keeps the table's rows of that dataset) or generated data; the scale decides when absent. */
  dataset?: DataChoice;
  /** A local copy of the extracted CIFAR folder. */
  dataDir?: string;
  /** Train on data files that are not the official ones; they are recorded in each config.json as such. */
  allowUnofficialData?: boolean;
  /** Root of the run folders. */
  out: string;
  /** Run k of a row uses seed + k − 1. */
  seed?: number;
  /**
   * wasm only: the threads its kernels run on (default every core, at most 8). Each thread count sums in its
   * own fixed order, so results agree across counts to float rounding and repeat bit for bit for one count.
   */
  threads?: number;
  /** Stops training at the next iteration; the run stays resumable. */
  signal?: AbortSignal;
  /** Replaces the scale's iterations (recorded in each run's config; the schedule is scaled with them). */
  iterations?: number;
  /** Regular expressions over weight names left out of weight decay (recorded in each run's config). */
  noDecay?: readonly string[];
  /** Let the trainer turn SIGINT/SIGTERM into a clean stop with a checkpoint (the CLI does). */
  handleSignals?: boolean;
  /** The trainer's progress display (default 'auto': a bar on a terminal, lines otherwise). */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Called after every training iteration (the tests use it to interrupt a run part-way). */
  onIteration?: (info: { row: string; run: number; iteration: number }) => void;
  log?: (line: string) => void;
}

export interface RunTableOutcome {
  status: 'completed' | 'interrupted';
  /** The signal that interrupted the table, when one did (the CLI exits 128 + its number). */
  signal?: 'SIGINT' | 'SIGTERM';
  backend: BackendInfo;
  /** Run folders trained to the end by this call, skipped because already finished, and resumed. */
  trained: string[];
  skipped: string[];
  resumed: string[];
  report: TableReport;
}

/** The data a row trains on: its own dataset, or the one `--dataset` names. */
function rowData(scale: Scale, choice: DataChoice | undefined): 'real' | 'synthetic' {
  if (choice === 'synthetic') return 'synthetic';
  if (choice === undefined) return scale.defaultData;
  return 'real';
}

/** Training images of CIFAR-10 and CIFAR-100: what an epoch of an epoch-based protocol counts. */
const CIFAR_TRAIN_IMAGES = 50_000;

/** What `config.json` of a run will hold. */
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
  /** Weights left out of weight decay (`run --no-decay`): regular expressions over weight names. */
  noDecay?: readonly string[];
}): RunConfig {
  const { row, scale } = args;
  const preset = getPreset(row.preset);
  const unit = preset.config.unit ?? 'basic';
  const depth = scale.depth(typeof unit === 'string' ? unit : 'custom', preset.config.depth);
  const seed = args.baseSeed + args.run - 1;
  // Everything that defines the network is recorded, defaults included, so a folder written before one of
  // them changed is refused rather than mixed with new runs: BN over groups of the batch, and the padding of
  // strided convolutions (Torch's 1 on every side since it replaced tfjs's 'same'; not an option).
  const model = {
    ...preset.config,
    depth,
    seed,
    batchNormGroups: scale.batchNormGroups,
    stridedConvPadding: 'symmetric',
  } as Record<string, unknown>;
  if (typeof unit !== 'string') model['unit'] = 'custom';
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
    runs: args.runs,
  };
}

/**
 * The fields that differ between a folder's config and the one this call would write, over everything that
 * decides the numbers (the run count can grow without invalidating a run; the data is compared by
 * {@link checkSameData}, by content).
 */
function experimentDifferences(a: RunConfig, b: RunConfig) {
  const { runs: _a, dataIdentity: _da, ...restA } = a;
  const { runs: _b, dataIdentity: _db, ...restB } = b;
  return configDifferences(restA, restB);
}

/** Refuses a run folder whose recorded data is not the data loaded now, naming what differs. */
function checkSameData(dir: string, existing: RunConfig, config: RunConfig, loaded: LoadedData): void {
  if (!existing.dataIdentity) {
    throw new Error(
      `${dir} was written before runs recorded their data (its config.json has no dataIdentity), so whether ` +
        'it used the same files cannot be checked; pass another --out, or delete that folder to run it again',
    );
  }
  if (config.dataIdentity && !sameData(existing.dataIdentity, config.dataIdentity)) {
    throw new Error(
      `${dir} was trained on other data than the ${existing.dataset} files now in ${loaded.source} ` +
        `(${describeDataChange(existing.dataIdentity, config.dataIdentity)}). ` +
        'Point --data-dir at the data it was trained on, or pass another --out to start afresh.',
    );
  }
}

export async function runTable(args: RunTableArgs): Promise<RunTableOutcome> {
  const log = args.log ?? ((line: string) => console.log(line));
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
  const runs = args.runs ?? scale.runs;
  const baseSeed = args.seed ?? 1;
  await prepareOutputFolder(args.out);
  const backend = await initBackend({
    backend: args.backend ?? 'auto',
    ...(args.threads !== undefined ? { fast: { threads: args.threads } } : {}),
  });
  const environment: RunEnvironment = {
    backend: backend.name,
    gpu: backend.gpu,
    device: describeDevice(backend.gpu),
    commit: gitCommit(),
    node: process.versions.node,
    tfjs: tf.version_core,
  };
  log(
    `table ${table.table}, scale ${scale.name}, ${rows.length} row(s) × ${runs} run(s), backend ${backend.name}`,
  );

  const datasets = new Map<string, LoadedData>();
  const outcome: Omit<RunTableOutcome, 'report'> = {
    status: 'completed',
    backend,
    trained: [],
    skipped: [],
    resumed: [],
  };
  /** The loaded data of a row (real, or generated with at least a couple of batches of the scale's size). */
  const rowDataset = async (
    row: ExperimentRow,
    data: 'real' | 'synthetic',
    batchSize: number,
  ): Promise<LoadedData> => {
    const counts = {
      train: Math.max(SMOKE_DATA.train, 2 * batchSize),
      test: Math.max(SMOKE_DATA.test, scale.testImages ?? batchSize),
    };
    const key =
      data === 'real' ? `real:${row.dataset}` : `synthetic:${row.dataset}:${counts.train}:${counts.test}`;
    let loaded = datasets.get(key);
    if (!loaded) {
      loaded = await loadData({
        dataset: row.dataset,
        synthetic: data === 'synthetic',
        ...(args.dataDir ? { dataDir: args.dataDir } : {}),
        ...(args.allowUnofficialData ? { allowUnofficial: true } : {}),
        syntheticDir: join(args.out, '.synthetic', `${row.dataset}-${counts.train}-${counts.test}`),
        syntheticCounts: counts,
        log,
      });
      datasets.set(key, loaded);
    }
    return loaded;
  };
  try {
    rowLoop: for (const row of rows) {
      for (let run = 1; run <= runs; run++) {
        const dir = runDir(args.out, table.table, row.id, run);
        const data = rowData(scale, args.dataset);
        const planned = runConfig({
          table: table.table,
          row,
          scale,
          run,
          runs,
          baseSeed,
          data,
          ...(args.iterations !== undefined ? { iterations: args.iterations } : {}),
          ...(args.noDecay ? { noDecay: args.noDecay } : {}),
        });
        // The data is loaded first (once per dataset), so that a run folder is compared with what it would
        // now train on, finished or not.
        const loaded = await rowDataset(row, data, planned.batchSize);
        const config: RunConfig = { ...planned, dataIdentity: dataIdentity(loaded, scale.testImages) };
        const existing = readJsonIfExists<RunConfig>(join(dir, CONFIG_FILE));
        // What was computed first (a folder of an earlier version differs there, and that says most), then
        // on which data.
        const differences = existing ? experimentDifferences(existing, config) : [];
        if (differences.length > 0) {
          throw new Error(
            `${dir} holds a run of another configuration, made by another scale or options or by an ` +
              `earlier version of the code that computed something else (${describeDifferences(differences)}); ` +
              'it is not mixed with new runs: pass another --out, or delete that folder to start it again',
          );
        }
        if (existing) checkSameData(dir, existing, config, loaded);
        if (readJsonIfExists<RunResult>(join(dir, RESULT_FILE))) {
          log(`${row.id} run ${run}: done, skipped (${dir})`);
          outcome.skipped.push(dir);
          continue;
        }
        // Nothing in the run folder may lead a write outside --out (the trainer appends to metrics.jsonl).
        await assertNoLinks(args.out, dir);
        // Written once the data is there, so a run that could not start leaves no folder behind.
        await mkdir(dir, { recursive: true });
        await writeJsonAtomic(join(dir, CONFIG_FILE), config);
        log(
          `${row.id} run ${run}: ${row.preset} at depth ${config.model['depth']}, ${config.iterations} iterations`,
        );
        const result = await trainRun({
          config,
          dir,
          data: loaded,
          scale,
          ...(args.signal ? { signal: args.signal } : {}),
          handleSignals: args.handleSignals ?? false,
          progress: args.progress ?? 'auto',
          onIteration: (iteration) => args.onIteration?.({ row: row.id, run, iteration }),
          log,
        });
        if (result.resumedFrom > 0) outcome.resumed.push(dir);
        if (result.status === 'interrupted') {
          log(
            `${row.id} run ${run}: interrupted at iteration ${result.iteration}; run the same command to resume`,
          );
          outcome.status = 'interrupted';
          if (result.signal) outcome.signal = result.signal;
          break rowLoop;
        }
        const final: RunResult = {
          status: result.status,
          iteration: result.iteration,
          divergedAt: result.divergedAt ?? null,
          testErrorPercent: result.testErrorPercent,
          testLoss: result.testLoss,
          trainLoss: result.trainLoss,
          trainErrorPercent: result.trainErrorPercent,
          gateBias: result.gateBias,
          wallSeconds: result.wallSeconds,
          environment,
        };
        await writeJsonAtomic(join(dir, RESULT_FILE), final);
        outcome.trained.push(dir);
        const error = final.testErrorPercent === null ? 'n/a' : `${final.testErrorPercent.toFixed(2)}%`;
        log(`${row.id} run ${run}: ${final.status}, test error ${error}, ${final.wallSeconds.toFixed(1)} s`);
      }
    }
  } finally {
    for (const loaded of datasets.values()) loaded.dispose();
  }
  const report = await writeTableReport(args.out, table.table);
  return { ...outcome, report };
}
