// The files of one run folder (`<out>/table<N>/<row>/run<k>/`) and the code that reads them back: the
// report is built from these files alone, so `report` can rebuild it from disk at any time.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResNetConfig } from '@resnet/models';
import { readJsonIfExists, readJsonLines } from './files.js';

/**
 * The network of a run as config.json records it: the preset's config (registered names only: the run is
 * rebuilt from this record) at the scale's depth, with everything that defines it, defaults included.
 */
export type RunModel = Omit<ResNetConfig, 'unit' | 'shortcut' | 'dimensionIncrease' | 'classes'> & {
  unit?: string;
  shortcut?: string;
  dimensionIncrease?: Extract<ResNetConfig['dimensionIncrease'], string>;
  classes?: number;
  depth: number;
  seed: number;
  batchNormGroups: number;
  /** Torch's 1 on every side for strided convolutions since it replaced tfjs's 'same'; not an option. */
  stridedConvPadding: 'symmetric';
};

/** What `config.json` holds: everything that decides a run, written when it starts, and all the run reads. */
export interface RunConfig {
  table: number;
  row: string;
  label: string;
  preset: string;
  run: number;
  /** The seed given to `run --seed`; run k uses `baseSeed + k - 1`. */
  baseSeed: number;
  seed: number;
  scale: string;
  /** What the scale shrinks (empty at paper scale). */
  shrinks: readonly string[];
  comparable: boolean;
  dataset: string;
  /** 'real' CIFAR files or generated 'synthetic' ones. */
  data: 'real' | 'synthetic';
  model: RunModel;
  iterations: number;
  batchSize: number;
  /** The learning-rate schedule in words. */
  schedule: string;
  /** The same schedule as data: what the trainer runs (`stepSchedule` of @resnet/trainer). */
  lrSchedule: {
    baseLr: number;
    /** Iterations at which the rate is divided by 10. */
    milestones: number[];
    warmup: { iterations: number; lr: number } | null;
  };
  /** Epochs and iterations per epoch, for a row whose protocol is counted in epochs (Table 4's mini-batch 64). */
  epochs: { epochs: number; itersPerEpoch: number } | null;
  /** How the loss is computed: cross-entropy of the logits by a stable log-softmax (Torch's LogSoftMax + ClassNLL). */
  loss: 'log-softmax';
  /** SGD with momentum in Torch's form; `noDecay`: name patterns of weights left out of weight decay. */
  optimizer: { momentum: number; nesterov: boolean; weightDecay: number; noDecay: string[] };
  normalization: string;
  augment: boolean;
  evaluateEvery: number;
  testImages: number | null;
  /** Iterations between checkpoints and between metrics records (they decide no number). */
  checkpointEvery: number;
  logEvery: number;
  runs: number;
  /**
   * What decides the bits a training step produces on the backend that ran it (`BackendInfo.numerics`):
   * a run is resumed only where it is the same. Absent in configs written before it was recorded.
   */
  numerics?: string;
  /**
   * The data the run trains and is tested on, by content (not by path): a run folder is resumed only on the
   * same. Absent in configs written before runs recorded it.
   */
  dataIdentity?: DataIdentity;
}

/** What identifies the data of a run: each data file's content, and the size of each split. */
export interface DataIdentity {
  /** Every file verified as the official one (official MD5, or the same file in the official archive). */
  official: boolean;
  /** Each data file, as @resnet/data-cifar checked it (`origin`: official, official-archive, differs, …). */
  files: Array<{ split: 'train' | 'test'; name: string; records: number; sha256: string; origin: string }>;
  /** Images in each split as loaded (the bench holds out no validation split), and the test images evaluated. */
  splits: { train: number; validation: number; test: number; testEvaluated: number };
}

/** Where the numbers were made. */
export interface RunEnvironment {
  backend: string;
  gpu: boolean;
  device: string;
  commit: string;
  node: string;
  tfjs: string;
}

/** What `result.json` holds: written once, at the end of a run that completed or diverged. */
export interface RunResult {
  status: 'completed' | 'diverged';
  iteration: number;
  divergedAt: number | null;
  /** Final test error in percent (null when the run diverged before any evaluation). */
  testErrorPercent: number | null;
  testLoss: number | null;
  trainLoss: number | null;
  trainErrorPercent: number | null;
  /**
   * Gating rows (Table 1): b_g at the start and its mean over every gate at the end, so that the drift
   * weight decay gives it (toward 0) can be read; null for rows without gates.
   */
  gateBias?: { initial: number; finalMean: number; gates: number } | null;
  wallSeconds: number;
  /** Absent in results written by hand or by older versions; the report then says 'unknown'. */
  environment?: RunEnvironment;
}

/** One line of the metrics file, reduced to what the plots need. */
export interface MetricPoint {
  iteration: number;
  trainLoss?: number;
  testErrorPercent?: number;
}

export interface RunRecord {
  run: number;
  dir: string;
  config?: RunConfig;
  result?: RunResult;
  metrics: MetricPoint[];
}

export function tableDir(out: string, table: number): string {
  return join(out, `table${table}`);
}

export function runDir(out: string, table: number, row: string, run: number): string {
  return join(tableDir(out, table), row, `run${run}`);
}

export const CONFIG_FILE = 'config.json';
export const RESULT_FILE = 'result.json';
export const METRICS_FILE = 'metrics.jsonl';

/** The runs of a row found on disk, in run order. */
export function readRowRuns(out: string, table: number, row: string): RunRecord[] {
  const dir = join(tableDir(out, table), row);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => /^run(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
    .map((run) => readRun(join(dir, `run${run}`), run));
}

export function readRun(dir: string, run: number): RunRecord {
  const config = readJsonIfExists<RunConfig>(join(dir, CONFIG_FILE));
  const result = readJsonIfExists<RunResult>(join(dir, RESULT_FILE));
  return {
    run,
    dir,
    ...(config ? { config } : {}),
    ...(result ? { result } : {}),
    metrics: readMetrics(join(dir, METRICS_FILE)),
  };
}

/**
 * The trainer's metrics file as plot points: its `log` records (mean training loss of the interval, and the
 * test error where an evaluation ran), errors turned from fractions into percentages. A resumed run appends a
 * `start` record at its checkpoint's iteration; points the interrupted segment logged past it are dropped,
 * since the resumed segment logs those iterations again.
 */
export function readMetrics(path: string): MetricPoint[] {
  let points: MetricPoint[] = [];
  for (const record of readJsonLines<Record<string, unknown>>(path)) {
    const iteration = record['iteration'];
    if (typeof iteration !== 'number') continue;
    if (record['type'] === 'start') {
      points = points.filter((p) => p.iteration <= iteration);
      continue;
    }
    if (record['type'] !== 'log') continue;
    const point: MetricPoint = { iteration };
    const trainLoss = record['trainLoss'];
    const testError = record['testError'];
    if (typeof trainLoss === 'number') point.trainLoss = trainLoss;
    if (typeof testError === 'number') point.testErrorPercent = testError * 100;
    if (point.trainLoss === undefined && point.testErrorPercent === undefined) continue;
    points = points.filter((p) => p.iteration !== iteration);
    points.push(point);
  }
  return points;
}
