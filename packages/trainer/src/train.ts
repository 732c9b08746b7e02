// The training loop: one SGD step per batch with BN in training mode, evaluation in inference mode,
// divergence detection (loss and every weight, every iteration), metrics, checkpoints, exact resume and a
// clean stop on SIGINT/SIGTERM. Step results stay on the backend and are read with one `await data()` per
// logging interval, so no iteration blocks on dataSync and the event loop runs between iterations.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { Checkpoint, CheckpointTensor } from './checkpoint-format.js';
import type { Batch, BatchSource } from './data.js';
import type { RunPaths, StopSignal, TrainerHost } from './host.js';
import type { CheckpointReason, LogRecord, MetricsRecord } from './metrics.js';
import type { ProgressMode } from './progress-state.js';
import { checkConfig, checkOptimizer, restoreVelocity, restoreWeights, snapshot } from './resume.js';
import { freshSeed, type RngState, TrainerRng } from './rng.js';
import { paperSchedule, type Schedule } from './schedule.js';
import { MomentumSgd, type SgdOptions } from './sgd.js';
import {
  evaluate,
  type Head,
  type OutputKind,
  readStep,
  resolveHead,
  type StepTensors,
  trainStep,
} from './step.js';

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
  /** Right after each iteration is dispatched, before its values are read (no loss yet). */
  onIteration?(iteration: number): void;
  /**
   * Each iteration's loss and error, called in order when the trainer reads them: once per logging
   * interval (and before every evaluation, checkpoint and the end), not right after the step.
   */
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
  /**
   * Where the logits come from. Default `'auto'`: a model ending in a softmax layer is trained on that
   * layer's input with a stable log-softmax cross-entropy (see {@link OutputKind}).
   */
  outputs?: OutputKind;
  /** Default `'auto'`. */
  progress?: ProgressMode;
  /** Where progress goes (Node: a `NodeJS.WriteStream`). Default process.stderr. */
  progressStream?: { write(text: string): unknown; isTTY?: boolean };
  callbacks?: TrainCallbacks;
  /** Aborting checkpoints and stops the run with status 'interrupted'. */
  signal?: AbortSignal;
  /**
   * Catch SIGINT and SIGTERM for the duration of the run: the iteration in flight ends, a checkpoint is
   * written, and the run returns with status 'interrupted' and `signal` set (the caller exits 128 + the
   * signal's number: 130, 143). A second signal ends the process at once. Default false.
   */
  handleSignals?: boolean;
}

/** How a run ended. */
export interface TrainResult {
  status: 'completed' | 'diverged' | 'interrupted';
  /** Iterations completed. */
  iteration: number;
  /** The iteration (1-based) whose loss, or any weight after its update, was NaN or infinite. */
  divergedAt?: number;
  /** What was not finite at `divergedAt`. */
  divergence?: 'loss' | 'weights';
  /** The signal that interrupted the run (with `handleSignals`). */
  signal?: 'SIGINT' | 'SIGTERM';
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
 * The training loop on a host (node-host.ts, browser-host.ts): `train` of the package's Node and browser
 * entries.
 */
export function createTrain(host: TrainerHost): (options: TrainOptions) => Promise<TrainResult> {
  return (options) => trainOn(host, options);
}

async function trainOn(host: TrainerHost, options: TrainOptions): Promise<TrainResult> {
  const settings = checkOptions(options, host);
  const { model, iterations, paths } = settings;
  const optimizer = new MomentumSgd(
    model.trainableWeights.filter((w) => w.dtype === 'float32'),
    options.optimizer,
  );
  try {
    if (paths) {
      await host.files!.prepare(options.runDir!, paths);
    }
    const found =
      paths && options.resume
        ? await host.files!.latestCheckpoint([paths.final, paths.checkpoint, paths.previous])
        : { checkpoint: undefined, warnings: [] };
    const { checkpoint } = found;
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
    return await run(host, settings, optimizer, start, checkpoint, found.warnings);
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
  head: Head;
  callbacks: TrainCallbacks;
  config: Record<string, unknown> | null;
  paths?: RunPaths;
}

interface Start {
  iteration: number;
  rng: TrainerRng;
  state: RunningState;
}

function checkOptions(options: TrainOptions, host: TrainerHost): Settings {
  const { runDir } = options;
  if (runDir && !host.files) {
    throw new Error(
      'runDir needs a file system: this is the browser entry of @resnet/trainer; keep the metrics with ' +
        "callbacks.onLog, or train in Node (the package's Node entry writes runDir)",
    );
  }
  if (options.handleSignals && !host.onSignals) {
    throw new Error(
      'handleSignals needs Node.js signals; in a browser, stop a run with an AbortSignal (`signal`)',
    );
  }
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
    head: resolveHead(options.model, options.outputs ?? 'auto'),
    callbacks: options.callbacks ?? {},
    config: options.config ?? null,
    ...(runDir ? { paths: host.files!.paths(runDir) } : {}),
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

/** One dispatched iteration whose values have not been read yet. */
interface PendingStep {
  iteration: number;
  lr: number;
  step: StepTensors;
}

/** Lets the event loop run (signal handlers, timers, I/O) between iterations, in Node and in browsers. */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );

/** The loop itself, from `start` to the end, a divergence or an interruption. */
async function run(
  host: TrainerHost,
  settings: Settings,
  optimizer: MomentumSgd,
  start: Start,
  resumedFrom: Checkpoint | undefined,
  startWarnings: readonly string[] = [],
): Promise<TrainResult> {
  const { options, model, data, iterations, schedule, callbacks, paths } = settings;
  const { rng, state } = start;
  let iteration = start.iteration;
  let checkpointPath = resumedFrom?.path;
  const metricsLog = paths ? host.files!.openMetrics(paths.metrics) : undefined;
  const progress = host.progress(options.progress ?? 'auto', options.progressStream);
  const now = () => new Date().toISOString();
  const emit = (record: MetricsRecord) => {
    metricsLog?.write(record);
    callbacks.onLog?.(record);
  };

  let stopRequested = false;
  let stopSignal: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    stopRequested = true;
    stopSignal = signal;
    progress.message(`${signal} received: writing a checkpoint, then stopping (again to stop at once)`);
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
    const test = await evaluate(model, options.evaluate.batches(), settings.head);
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

  let checkpointIteration = resumedFrom?.iteration;
  const writeCheckpoint = async (path: string, reason: CheckpointReason): Promise<void> => {
    state.wallSeconds = wall();
    const weights: CheckpointTensor[] = [];
    for (const w of model.weights) weights.push(await snapshot(w.originalName, w.read()));
    const velocity: CheckpointTensor[] = [];
    for (const [i, v] of optimizer.getVelocity().entries()) {
      velocity.push(await snapshot(optimizer.weights[i]!.originalName, v));
    }
    await host.files!.saveCheckpoint(
      path,
      {
        iteration,
        config: settings.config,
        rng: rng.getState(),
        data: data.getState ? (data.getState() ?? null) : null,
        optimizer: optimizerInfo(optimizer),
        metrics: structuredClone(state),
        weights,
        velocity,
      },
      // Periodic and interrupt checkpoints keep the one before as `previous`, for a damaged latest one.
      reason === 'final' ? {} : { keepPrevious: paths!.previous },
    );
    checkpointPath = path;
    checkpointIteration = iteration;
    emit({ type: 'checkpoint', iteration, path, reason, time: now() });
    callbacks.onCheckpoint?.({ iteration, path, reason });
  };

  // Dispatched iterations not yet read. Their values are read together (one `await data()`), in order; the
  // first whose loss or weights are not finite is where the run diverged. Iterations dispatched after it are
  // discarded (they trained on non-finite weights) and no checkpoint is written before a read.
  let pending: PendingStep[] = [];
  let pendingSince = 0;
  let status: TrainResult['status'] = 'completed';
  let divergedAt: number | undefined;
  let divergence: TrainResult['divergence'];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const group = pending;
    pending = [];
    const values = await Promise.all(group.map((p) => readStep(p.step)));
    speed.seconds += (performance.now() - pendingSince) / 1000;
    tensorBaseline ??= tf.memory().numTensors;
    for (const [k, p] of group.entries()) {
      const v = values[k]!;
      const { interval } = state;
      interval.steps++;
      interval.images += v.size;
      interval.lossSum += v.loss;
      interval.wrong += v.wrong;
      interval.lr = p.lr;
      speed.images += v.size;
      speed.steps++;
      if (!Number.isFinite(v.loss) || !v.weightsFinite) {
        status = 'diverged';
        divergedAt = p.iteration;
        divergence = Number.isFinite(v.loss) ? 'weights' : 'loss';
        iteration = p.iteration;
        const what = Number.isFinite(v.loss)
          ? `a weight is not finite after the update of iteration ${p.iteration}`
          : `loss is ${v.loss} at iteration ${p.iteration}`;
        const message = `${what} (lr ${p.lr}): the run diverged`;
        emit({ type: 'warning', iteration: p.iteration, message, time: now() });
        progress.message(message);
        return;
      }
      callbacks.onStepEnd?.({
        iteration: p.iteration,
        lr: p.lr,
        loss: v.loss,
        error: v.wrong / v.size,
        batchSize: v.size,
      });
      progress.step({
        iteration: p.iteration,
        lr: p.lr,
        loss: interval.lossSum / interval.steps,
        error: interval.wrong / interval.images,
        imagesPerSecond: speed.images / Math.max(speed.seconds, 1e-9),
        ...(state.lastTest ? { testError: state.lastTest.error } : {}),
      });
    }
  };

  const removeSignalHandlers = options.handleSignals ? host.onSignals!(onSignal) : undefined;
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
    for (const message of startWarnings) {
      emit({ type: 'warning', iteration, message, time: now() });
      progress.message(`warning: ${message}`);
    }
    if (resumedFrom) progress.message(`resumed from ${resumedFrom.path} at iteration ${iteration}`);
    try {
      while (iteration < iterations) {
        // Signal handlers and abort listeners run here, so a stop is seen within one iteration.
        await yieldToEventLoop();
        if (stopRequested || options.signal?.aborted) {
          await flush();
          if (status === 'completed') status = 'interrupted';
          break;
        }
        const lr = schedule(iteration);
        if (!Number.isFinite(lr) || lr < 0) {
          throw new Error(
            `the schedule gave learning rate ${lr} for iteration ${iteration}; expected a number ≥ 0`,
          );
        }
        if (pending.length === 0) pendingSince = performance.now();
        const batch: Batch = await data.next();
        try {
          const step = rng.withMathRandom(() =>
            trainStep({ model, optimizer, batch, lr, outputs: settings.head }),
          );
          pending.push({ iteration: iteration + 1, lr, step });
        } finally {
          batch.xs.dispose();
          batch.ys.dispose();
        }
        iteration++;
        progress.advance(iteration);
        callbacks.onIteration?.(iteration);
        const evaluateDue = settings.evaluateEvery > 0 && iteration % settings.evaluateEvery === 0;
        const logDue = evaluateDue || iteration % settings.logEvery === 0;
        const checkpointDue = paths && iteration % settings.checkpointEvery === 0 && iteration < iterations;
        if (!logDue && !checkpointDue && iteration < iterations) continue;
        await flush();
        // flush() may have set the status (TypeScript cannot see that through the closure).
        if ((status as TrainResult['status']) === 'diverged') break;
        if (evaluateDue) await evaluateNow();
        if (logDue) writeRecord();
        if (checkpointDue) await writeCheckpoint(paths.checkpoint, 'periodic');
      }
    } finally {
      // An exception (or a divergence) leaves dispatched steps behind: free them.
      for (const p of pending) p.step.values.dispose();
      pending = [];
    }
    if (status === 'completed') {
      const needsEvaluation = options.evaluate !== undefined && state.lastTest?.iteration !== iteration;
      if (needsEvaluation) await evaluateNow();
      if (needsEvaluation || state.lastRecordIteration !== iteration) writeRecord();
      if (paths) await writeCheckpoint(paths.final, 'final');
    } else if (status === 'interrupted' && paths && checkpointIteration !== iteration) {
      // (A stop right after a periodic checkpoint has nothing new to write, and keeps the one before it.)
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
      ...(divergedAt !== undefined ? { divergedAt, divergence } : {}),
      ...(status === 'interrupted' && stopSignal ? { signal: stopSignal } : {}),
    };
  } finally {
    progress.stop();
    removeSignalHandlers?.();
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
  return {
    momentum: optimizer.momentum,
    nesterov: optimizer.nesterov,
    weightDecay: optimizer.weightDecay,
    // Only when given, so checkpoints written before the option existed still resume.
    ...(optimizer.noDecay.length > 0 ? { noDecay: [...optimizer.noDecay] } : {}),
  };
}

function checkCount(name: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return value;
}
