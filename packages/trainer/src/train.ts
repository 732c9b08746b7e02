// The training loop: one SGD step per batch with BN in training mode, evaluation in inference mode,
// divergence detection, metrics, checkpoints and exact resume.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type Checkpoint, removeStaleTemporaries, saveCheckpoint } from './checkpoint.js';
import type { Batch, BatchSource } from './data.js';
import { type CheckpointReason, type LogRecord, MetricsLog, type MetricsRecord } from './metrics.js';
import { type ProgressMode, ProgressReporter } from './progress.js';
import {
  checkConfig,
  checkOptimizer,
  latestCheckpoint,
  restoreVelocity,
  restoreWeights,
  snapshot,
} from './resume.js';
import { freshSeed, type RngState, TrainerRng } from './rng.js';
import { paperSchedule, type Schedule } from './schedule.js';
import { MomentumSgd, type SgdOptions } from './sgd.js';
import { evaluate, type OutputKind, resolveOutputs, trainStep } from './step.js';

/** Passed to `onStepEnd` after every iteration. */
export interface StepEndEvent {
  /** Iterations completed (1 after the first step). */
  iteration: number;
  lr: number;
  /** This batch's mean loss. */
  loss: number;
  /** This batch's top-1 error (0–1). */
  error: number;
  batchSize: number;
}

/** Passed to `onEvaluate`. */
export interface EvaluateEvent {
  iteration: number;
  loss: number;
  error: number;
  /** Test images evaluated. */
  images: number;
}

/** Passed to `onCheckpoint`. */
export interface CheckpointEvent {
  iteration: number;
  path: string;
  reason: CheckpointReason;
}

/** Hooks a caller can attach to a run. Exceptions thrown by them stop the run. */
export interface TrainCallbacks {
  onStepEnd?(event: StepEndEvent): void;
  onEvaluate?(event: EvaluateEvent): void;
  onCheckpoint?(event: CheckpointEvent): void;
  /** Every record written to metrics.jsonl (also called when there is no runDir). */
  onLog?(record: MetricsRecord): void;
}

/** Evaluation on held-out data. */
export interface EvaluateOptions {
  /** Evaluate after every `every` iterations (and always at the end). */
  every: number;
  /** A fresh pass over the test set each time it is called; the trainer disposes the batches. */
  batches: () => AsyncIterable<Batch> | Iterable<Batch>;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Any single-output classifier: `[B, …] → [B, C]`. */
  model: LayersModel;
  /** Training batches. */
  data: BatchSource;
  /** Stop after this many iterations in total (a resumed run counts those done before). */
  iterations: number;
  /** Learning rate per iteration. Default: the paper's ({@link paperSchedule}). */
  schedule?: Schedule;
  /** SGD hyper-parameters. Defaults: momentum 0.9, weightDecay 1e-4 on every trainable weight. */
  optimizer?: SgdOptions;
  /** Test-set evaluation; also run at the end. */
  evaluate?: EvaluateOptions;
  /** Directory for metrics.jsonl and checkpoints; created if missing. Without it nothing is written. */
  runDir?: string;
  /** Write `runDir/checkpoint.ckpt` every N iterations. Default 1000 when runDir is set. */
  checkpointEvery?: number;
  /** A metrics record (and a progress line) every N iterations. Default 100. */
  logEvery?: number;
  /** Seed of the trainer's own randomness (see TrainerRng). Default: a fresh one, recorded in the metrics. */
  seed?: number;
  /** Continue from runDir's latest checkpoint when there is one. Default false. */
  resume?: boolean;
  /** The run's configuration; stored in checkpoints, and a resume with a different one is refused. */
  config?: Record<string, unknown>;
  /** Iterations per epoch, so records carry an epoch. */
  itersPerEpoch?: number;
  /** Whether the model outputs logits or softmax probabilities. Default `'auto'` (looks at the last layer). */
  outputs?: OutputKind;
  /** Default `'auto'`. */
  progress?: ProgressMode;
  /** Where progress goes. Default process.stderr. */
  progressStream?: NodeJS.WriteStream;
  callbacks?: TrainCallbacks;
  /** Aborting checkpoints and stops the run with status 'interrupted'. */
  signal?: AbortSignal;
  /**
   * Catch SIGINT and SIGTERM for the duration of the run: checkpoint, then return with status
   * 'interrupted'. A second signal ends the process at once. Default false.
   */
  handleSignals?: boolean;
}

/** How a run ended. */
export interface TrainResult {
  status: 'completed' | 'diverged' | 'interrupted';
  /** Iterations completed. */
  iteration: number;
  /** The iteration (1-based) whose loss was NaN or infinite. */
  divergedAt?: number;
  /** Averages over the last logging interval (or the current one when it ended early). */
  train: { loss: number; error: number };
  /** The last evaluation. */
  test?: { loss: number; error: number };
  metricsPath?: string;
  /** The last checkpoint written or resumed from. */
  checkpointPath?: string;
  /** Seconds of training summed over resumed segments. */
  wallSeconds: number;
}

/** File names inside a runDir. */
export const RUN_FILES = {
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint.ckpt',
  final: 'final.ckpt',
} as const;

/** The trainer's state between steps that a checkpoint must carry besides tensors. */
interface RunningState {
  interval: { steps: number; images: number; lossSum: number; wrong: number; lr: number };
  lastTrain: { loss: number; error: number } | null;
  lastTest: { loss: number; error: number; iteration: number } | null;
  lastRecordIteration: number;
  wallSeconds: number;
  seed: number;
}

/**
 * Trains `model` on `data` for `iterations` iterations (see the package README for the recipe and the
 * exact update). Resolves when the run completes, diverges or is interrupted.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const settings = checkOptions(options);
  const { model, iterations, paths } = settings;
  const optimizer = new MomentumSgd(
    model.trainableWeights.filter((w) => w.dtype === 'float32'),
    options.optimizer,
  );
  try {
    if (paths) {
      await mkdir(options.runDir!, { recursive: true });
      await removeStaleTemporaries(paths.checkpoint);
      await removeStaleTemporaries(paths.final);
    }
    const checkpoint =
      paths && options.resume ? await latestCheckpoint([paths.final, paths.checkpoint]) : undefined;
    const start = checkpoint ? restore(checkpoint, settings, optimizer) : fresh(options.seed ?? freshSeed());
    if (checkpoint?.path === paths?.final && start.iteration === iterations) {
      // A completed run asked again: its stored result, without training.
      return result(
        'completed',
        start.iteration,
        start.state,
        settings,
        checkpoint?.path,
        start.state.wallSeconds,
      );
    }
    return await run(settings, optimizer, start, checkpoint);
  } finally {
    optimizer.dispose();
  }
}

interface Settings {
  options: TrainOptions;
  model: LayersModel;
  data: BatchSource;
  iterations: number;
  logEvery: number;
  checkpointEvery: number;
  evaluateEvery: number;
  schedule: Schedule;
  outputs: 'logits' | 'probabilities';
  callbacks: TrainCallbacks;
  config: Record<string, unknown> | null;
  paths?: { metrics: string; checkpoint: string; final: string };
}

interface Start {
  iteration: number;
  rng: TrainerRng;
  state: RunningState;
}

function checkOptions(options: TrainOptions): Settings {
  const { runDir } = options;
  const iterations = checkCount('iterations', options.iterations, true);
  if (options.checkpointEvery !== undefined && !runDir) {
    throw new Error('checkpointEvery needs a runDir to write checkpoints to');
  }
  if (options.resume && !runDir) throw new Error('resume needs the runDir of the run to continue');
  if (options.itersPerEpoch !== undefined) checkCount('itersPerEpoch', options.itersPerEpoch);
  return {
    options,
    model: options.model,
    data: options.data,
    iterations,
    logEvery: checkCount('logEvery', options.logEvery ?? 100),
    checkpointEvery: runDir ? checkCount('checkpointEvery', options.checkpointEvery ?? 1000) : 0,
    evaluateEvery: options.evaluate ? checkCount('evaluate.every', options.evaluate.every) : 0,
    schedule: options.schedule ?? paperSchedule(),
    outputs: resolveOutputs(options.model, options.outputs ?? 'auto'),
    callbacks: options.callbacks ?? {},
    config: options.config ?? null,
    ...(runDir
      ? {
          paths: {
            metrics: join(runDir, RUN_FILES.metrics),
            checkpoint: join(runDir, RUN_FILES.checkpoint),
            final: join(runDir, RUN_FILES.final),
          },
        }
      : {}),
  };
}

function fresh(seed: number): Start {
  return {
    iteration: 0,
    rng: new TrainerRng(seed),
    state: {
      interval: emptyInterval(),
      lastTrain: null,
      lastTest: null,
      lastRecordIteration: 0,
      wallSeconds: 0,
      seed,
    },
  };
}

/** Puts the model, optimiser, batch source and trainer back where `ckpt` left them, or refuses to. */
function restore(ckpt: Checkpoint, settings: Settings, optimizer: MomentumSgd): Start {
  const { options, iterations, data } = settings;
  checkConfig(ckpt, settings.config);
  checkOptimizer(ckpt, optimizerInfo(optimizer));
  const saved = structuredClone(ckpt.metrics) as RunningState;
  if (options.seed !== undefined && options.seed !== saved.seed) {
    throw new Error(
      `checkpoint ${ckpt.path} was written by a run with seed ${saved.seed}, not ${options.seed}: ` +
        'resume with the same seed, or start a new run in another runDir',
    );
  }
  if (ckpt.iteration > iterations) {
    throw new Error(
      `checkpoint ${ckpt.path} is at iteration ${ckpt.iteration}, past the ${iterations} iterations asked for`,
    );
  }
  if (ckpt.data !== null && ckpt.data !== undefined && !data.setState) {
    throw new Error(
      `checkpoint ${ckpt.path} holds the batch source's state but this source has no setState(): ` +
        'use the same kind of source as the interrupted run',
    );
  }
  restoreWeights(settings.model.weights, ckpt);
  restoreVelocity(optimizer, ckpt);
  if (ckpt.data !== null && ckpt.data !== undefined) data.setState!(ckpt.data);
  const rng = new TrainerRng(saved.seed);
  rng.setState(ckpt.rng as RngState);
  return { iteration: ckpt.iteration, rng, state: saved };
}

/** The loop itself, from `start` to the end, a divergence or an interruption. */
async function run(
  settings: Settings,
  optimizer: MomentumSgd,
  start: Start,
  resumedFrom: Checkpoint | undefined,
): Promise<TrainResult> {
  const { options, model, data, iterations, schedule, callbacks, paths } = settings;
  const { rng, state } = start;
  let iteration = start.iteration;
  let checkpointPath = resumedFrom?.path;
  const metricsLog = paths ? new MetricsLog(paths.metrics) : undefined;
  const progress = new ProgressReporter(options.progress ?? 'auto', options.progressStream);
  const now = () => new Date().toISOString();
  const emit = (record: MetricsRecord) => {
    metricsLog?.write(record);
    callbacks.onLog?.(record);
  };

  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      // A second signal: the person wants out now; the last checkpoint on disk is whole either way.
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.kill(process.pid, signal);
      return;
    }
    stopRequested = true;
    progress.message(`${signal} received: writing a checkpoint, then stopping`);
  };
  const onAbort = () => {
    stopRequested = true;
  };

  const segmentStart = performance.now();
  const wallBefore = state.wallSeconds;
  const wall = () => wallBefore + (performance.now() - segmentStart) / 1000;
  // Speed counts only this process's share of an interval (a resumed interval began in another one).
  const speed = { images: 0, steps: 0, seconds: 0, secondsPerIteration: Number.NaN };
  let tensorBaseline: number | undefined;
  let warnedGrowth = 0;

  const evaluateNow = async (): Promise<void> => {
    if (!options.evaluate) return;
    const test = await evaluate(model, options.evaluate.batches(), settings.outputs);
    state.lastTest = { loss: test.loss, error: test.error, iteration };
    callbacks.onEvaluate?.({ iteration, ...test });
  };

  const writeRecord = (): void => {
    const { interval } = state;
    const live = tf.memory().numTensors;
    const growth = tensorBaseline === undefined ? 0 : live - tensorBaseline;
    if (speed.steps > 0) speed.secondsPerIteration = speed.seconds / speed.steps;
    const record: LogRecord = {
      type: 'log',
      iteration,
      ...(options.itersPerEpoch ? { epoch: iteration / options.itersPerEpoch } : {}),
      lr: interval.steps > 0 ? interval.lr : schedule(Math.max(0, iteration - 1)),
      ...(interval.steps > 0
        ? { trainLoss: interval.lossSum / interval.steps, trainError: interval.wrong / interval.images }
        : {}),
      trainIterations: interval.steps,
      ...(state.lastTest?.iteration === iteration
        ? { testLoss: state.lastTest.loss, testError: state.lastTest.error }
        : {}),
      imagesPerSecond: speed.seconds > 0 ? speed.images / speed.seconds : 0,
      liveTensors: live,
      tensorGrowth: growth,
      wallSeconds: wall(),
      time: now(),
    };
    if (interval.steps > 0) state.lastTrain = { loss: record.trainLoss!, error: record.trainError! };
    state.interval = emptyInterval();
    state.lastRecordIteration = iteration;
    Object.assign(speed, { images: 0, steps: 0, seconds: 0 });
    emit(record);
    progress.record(record, (iterations - iteration) * speed.secondsPerIteration);
    if (growth > 0 && growth > 2 * warnedGrowth) {
      warnedGrowth = growth;
      const message =
        `live tensors grew by ${growth} since the first step (now ${live}): something leaks ` +
        '(a batch source keeping tensors, or a callback creating them outside tf.tidy)';
      emit({ type: 'warning', iteration, message, time: now() });
      progress.message(`warning: ${message}`);
    }
  };

  const writeCheckpoint = async (path: string, reason: CheckpointReason): Promise<void> => {
    state.wallSeconds = wall();
    await saveCheckpoint(path, {
      iteration,
      config: settings.config,
      rng: rng.getState(),
      data: data.getState ? (data.getState() ?? null) : null,
      optimizer: optimizerInfo(optimizer),
      metrics: structuredClone(state),
      weights: model.weights.map((w) => snapshot(w.originalName, w.read())),
      velocity: optimizer.getVelocity().map((v, i) => snapshot(optimizer.weights[i]!.originalName, v)),
    });
    checkpointPath = path;
    emit({ type: 'checkpoint', iteration, path, reason, time: now() });
    callbacks.onCheckpoint?.({ iteration, path, reason });
  };

  let status: TrainResult['status'] = 'completed';
  let divergedAt: number | undefined;
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  options.signal?.addEventListener('abort', onAbort);
  try {
    emit({
      type: 'start',
      iteration,
      iterations,
      seed: rng.seed,
      backend: tf.getBackend(),
      ...(resumedFrom ? { resumedFrom: resumedFrom.path } : {}),
      config: settings.config,
      time: now(),
    });
    progress.start(iterations, iteration);
    if (resumedFrom) progress.message(`resumed from ${resumedFrom.path} at iteration ${iteration}`);
    while (iteration < iterations) {
      if (stopRequested || options.signal?.aborted) {
        status = 'interrupted';
        break;
      }
      const t0 = performance.now();
      const lr = schedule(iteration);
      if (!Number.isFinite(lr) || lr < 0) {
        throw new Error(
          `the schedule gave learning rate ${lr} for iteration ${iteration}; expected a number ≥ 0`,
        );
      }
      const batch: Batch = await data.next();
      let step: { loss: number; wrong: number; size: number };
      try {
        step = rng.withMathRandom(() => trainStep(model, optimizer, batch, lr, settings.outputs));
      } finally {
        batch.xs.dispose();
        batch.ys.dispose();
      }
      iteration++;
      tensorBaseline ??= tf.memory().numTensors;
      const { interval } = state;
      interval.steps++;
      interval.images += step.size;
      interval.lossSum += step.loss;
      interval.wrong += step.wrong;
      interval.lr = lr;
      speed.images += step.size;
      speed.steps++;
      speed.seconds += (performance.now() - t0) / 1000;
      if (!Number.isFinite(step.loss)) {
        status = 'diverged';
        divergedAt = iteration;
        const message = `loss is ${step.loss} at iteration ${iteration} (lr ${lr}): the run diverged`;
        emit({ type: 'warning', iteration, message, time: now() });
        progress.message(message);
        break;
      }
      callbacks.onStepEnd?.({
        iteration,
        lr,
        loss: step.loss,
        error: step.wrong / step.size,
        batchSize: step.size,
      });
      progress.step({
        iteration,
        lr,
        loss: interval.lossSum / interval.steps,
        error: interval.wrong / interval.images,
        imagesPerSecond: speed.images / Math.max(speed.seconds, 1e-9),
        ...(state.lastTest ? { testError: state.lastTest.error } : {}),
      });
      const evaluateDue = settings.evaluateEvery > 0 && iteration % settings.evaluateEvery === 0;
      if (evaluateDue) await evaluateNow();
      if (evaluateDue || iteration % settings.logEvery === 0) writeRecord();
      if (paths && iteration % settings.checkpointEvery === 0 && iteration < iterations) {
        await writeCheckpoint(paths.checkpoint, 'periodic');
      }
    }
    if (status === 'completed') {
      const needsEvaluation = options.evaluate !== undefined && state.lastTest?.iteration !== iteration;
      if (needsEvaluation) await evaluateNow();
      if (needsEvaluation || state.lastRecordIteration !== iteration) writeRecord();
      if (paths) await writeCheckpoint(paths.final, 'final');
    } else if (status === 'interrupted' && paths) {
      await writeCheckpoint(paths.checkpoint, 'interrupt');
    }
    const wallSeconds = wall();
    emit({
      type: 'end',
      iteration,
      status,
      ...(divergedAt !== undefined ? { divergedAt } : {}),
      wallSeconds,
      time: now(),
    });
    return {
      ...result(status, iteration, state, settings, checkpointPath, wallSeconds),
      ...(divergedAt !== undefined ? { divergedAt } : {}),
    };
  } finally {
    progress.stop();
    if (options.handleSignals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    options.signal?.removeEventListener('abort', onAbort);
    metricsLog?.close();
  }
}

function result(
  status: TrainResult['status'],
  iteration: number,
  state: RunningState,
  settings: Settings,
  checkpointPath: string | undefined,
  wallSeconds: number,
): TrainResult {
  const { interval } = state;
  // A completed run reports its last full interval; a stopped one the interval it stopped in.
  const train =
    status === 'completed' || interval.steps === 0
      ? (state.lastTrain ?? { loss: Number.NaN, error: Number.NaN })
      : { loss: interval.lossSum / interval.steps, error: interval.wrong / interval.images };
  return {
    status,
    iteration,
    train,
    ...(state.lastTest ? { test: { loss: state.lastTest.loss, error: state.lastTest.error } } : {}),
    ...(settings.paths ? { metricsPath: settings.paths.metrics } : {}),
    ...(checkpointPath ? { checkpointPath } : {}),
    wallSeconds,
  };
}

function emptyInterval(): RunningState['interval'] {
  return { steps: 0, images: 0, lossSum: 0, wrong: 0, lr: Number.NaN };
}

function optimizerInfo(optimizer: MomentumSgd): Checkpoint['optimizer'] {
  return { momentum: optimizer.momentum, nesterov: optimizer.nesterov, weightDecay: optimizer.weightDecay };
}

function checkCount(name: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return value;
}
