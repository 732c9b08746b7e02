// The training loop: one SGD step per batch with BN in training mode, evaluation in inference mode,
// divergence detection, metrics, checkpoints and exact resume.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import {
  type Checkpoint,
  type CheckpointTensor,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
} from './checkpoint.js';
import { type CheckpointReason, type LogRecord, MetricsLog, type MetricsRecord } from './metrics.js';
import { type ProgressMode, ProgressReporter } from './progress.js';
import { freshSeed, type RngState, TrainerRng } from './rng.js';
import { paperSchedule, type Schedule } from './schedule.js';
import { MomentumSgd, type SgdOptions } from './sgd.js';

/** A mini-batch. The trainer owns both tensors and disposes them after use. */
export interface Batch {
  /** Inputs, batch first. */
  xs: tf.Tensor;
  /** Labels: int32 class indices `[B]` or one-hot (or soft) targets `[B, C]`. */
  ys: tf.Tensor;
  /** Number of examples; defaults to `xs.shape[0]`. */
  size?: number;
}

/**
 * Where training batches come from. `getState`/`setState` (JSON values) let a checkpoint record and restore
 * the position and random state of the source, which exact resume needs.
 */
export interface BatchSource {
  next(): Promise<Batch> | Batch;
  getState?(): unknown;
  setState?(state: unknown): void;
}

/** What the model's output is: raw scores, or probabilities from a final softmax. */
export type OutputKind = 'auto' | 'logits' | 'probabilities';

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
  const { model, data } = options;
  const iterations = checkCount('iterations', options.iterations, true);
  const logEvery = checkCount('logEvery', options.logEvery ?? 100);
  const runDir = options.runDir;
  if (options.checkpointEvery !== undefined && !runDir) {
    throw new Error('checkpointEvery needs a runDir to write checkpoints to');
  }
  if (options.resume && !runDir) throw new Error('resume needs the runDir of the run to continue');
  const checkpointEvery = runDir ? checkCount('checkpointEvery', options.checkpointEvery ?? 1000) : 0;
  const evaluateEvery = options.evaluate ? checkCount('evaluate.every', options.evaluate.every) : 0;
  if (options.itersPerEpoch !== undefined) checkCount('itersPerEpoch', options.itersPerEpoch);
  const schedule = options.schedule ?? paperSchedule();
  const outputs = resolveOutputs(model, options.outputs ?? 'auto');
  const callbacks = options.callbacks ?? {};
  const config = options.config ?? null;

  const optimizer = new MomentumSgd(
    model.trainableWeights.filter((w) => w.dtype === 'float32'),
    options.optimizer,
  );
  const optimizerInfo = {
    momentum: optimizer.momentum,
    nesterov: optimizer.nesterov,
    weightDecay: optimizer.weightDecay,
  };
  let rng = new TrainerRng(options.seed ?? freshSeed());
  let iteration = 0;
  const state: RunningState = {
    interval: { steps: 0, images: 0, lossSum: 0, wrong: 0, lr: Number.NaN },
    lastTrain: null,
    lastTest: null,
    lastRecordIteration: 0,
    wallSeconds: 0,
    seed: rng.seed,
  };

  const paths = runDir
    ? {
        metrics: join(runDir, RUN_FILES.metrics),
        checkpoint: join(runDir, RUN_FILES.checkpoint),
        final: join(runDir, RUN_FILES.final),
      }
    : undefined;
  let checkpointPath: string | undefined;
  let resumedFrom: Checkpoint | undefined;
  if (runDir && paths) {
    await mkdir(runDir, { recursive: true });
    await removeStaleTemporaries(paths.checkpoint);
    await removeStaleTemporaries(paths.final);
    if (options.resume) resumedFrom = await latestCheckpoint([paths.final, paths.checkpoint]);
  }
  if (resumedFrom) {
    const ckpt = resumedFrom;
    checkConfig(ckpt, config);
    checkOptimizer(ckpt, optimizerInfo);
    const saved = ckpt.metrics as RunningState;
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
    restoreWeights(model.weights, ckpt);
    restoreVelocity(optimizer, ckpt);
    rng = new TrainerRng(saved.seed);
    rng.setState(ckpt.rng as RngState);
    if (ckpt.data !== null && ckpt.data !== undefined) {
      if (!data.setState) {
        throw new Error(
          `checkpoint ${ckpt.path} holds the batch source's state but this source has no setState(): ` +
            'use the same kind of source as the interrupted run',
        );
      }
      data.setState(ckpt.data);
    }
    Object.assign(state, structuredClone(saved));
    iteration = ckpt.iteration;
    checkpointPath = ckpt.path;
    if (ckpt.path === paths?.final && iteration === iterations) {
      optimizer.dispose();
      return {
        status: 'completed',
        iteration,
        train: state.lastTrain ?? { loss: Number.NaN, error: Number.NaN },
        ...(state.lastTest ? { test: { loss: state.lastTest.loss, error: state.lastTest.error } } : {}),
        ...(paths ? { metricsPath: paths.metrics } : {}),
        checkpointPath,
        wallSeconds: state.wallSeconds,
      };
    }
  }

  const metricsLog = paths ? new MetricsLog(paths.metrics) : undefined;
  const progress = new ProgressReporter(options.progress ?? 'auto', options.progressStream);
  const emit = (record: MetricsRecord) => {
    metricsLog?.write(record);
    callbacks.onLog?.(record);
  };
  const now = () => new Date().toISOString();

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
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  options.signal?.addEventListener('abort', onAbort);

  const segmentStart = performance.now();
  const wallBefore = state.wallSeconds;
  const wall = () => wallBefore + (performance.now() - segmentStart) / 1000;
  let intervalImages = 0;
  let intervalSeconds = 0;
  let secondsPerIteration = Number.NaN;
  let tensorBaseline: number | undefined;
  let warnedGrowth = 0;
  let status: TrainResult['status'] = 'completed';
  let divergedAt: number | undefined;

  const evaluateNow = async (): Promise<void> => {
    if (!options.evaluate) return;
    const result = await evaluate(model, options.evaluate.batches(), outputs);
    state.lastTest = { ...result, iteration };
    callbacks.onEvaluate?.({ iteration, ...result });
  };

  const writeRecord = (): void => {
    const interval = state.interval;
    const live = tf.memory().numTensors;
    const growth = tensorBaseline === undefined ? 0 : live - tensorBaseline;
    const imagesPerSecond = intervalSeconds > 0 ? intervalImages / intervalSeconds : 0;
    if (intervalImages > 0) secondsPerIteration = intervalSeconds / Math.max(1, interval.steps);
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
      imagesPerSecond,
      liveTensors: live,
      tensorGrowth: growth,
      wallSeconds: wall(),
      time: now(),
    };
    if (interval.steps > 0) state.lastTrain = { loss: record.trainLoss!, error: record.trainError! };
    state.interval = { steps: 0, images: 0, lossSum: 0, wrong: 0, lr: Number.NaN };
    state.lastRecordIteration = iteration;
    intervalImages = 0;
    intervalSeconds = 0;
    emit(record);
    progress.record(record, (iterations - iteration) * secondsPerIteration);
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
      config,
      rng: rng.getState(),
      data: data.getState ? data.getState() : null,
      optimizer: optimizerInfo,
      metrics: structuredClone(state),
      weights: model.weights.map((w) => snapshot(w.originalName, w.read())),
      velocity: optimizer.getVelocity().map((v, i) => snapshot(optimizer.weights[i]!.originalName, v)),
    });
    checkpointPath = path;
    emit({ type: 'checkpoint', iteration, path, reason, time: now() });
    callbacks.onCheckpoint?.({ iteration, path, reason });
  };

  emit({
    type: 'start',
    iteration,
    iterations,
    seed: rng.seed,
    backend: tf.getBackend(),
    ...(resumedFrom ? { resumedFrom: resumedFrom.path } : {}),
    config,
    time: now(),
  });
  progress.start(iterations, iteration);
  if (resumedFrom) progress.message(`resumed from ${resumedFrom.path} at iteration ${iteration}`);
  let lastStep: StepEndEvent | undefined;
  try {
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
      const batch = await data.next();
      let step: { loss: number; wrong: number; size: number };
      try {
        step = rng.withMathRandom(() => trainStep(model, optimizer, batch, lr, outputs));
      } finally {
        batch.xs.dispose();
        batch.ys.dispose();
      }
      iteration++;
      tensorBaseline ??= tf.memory().numTensors;
      const interval = state.interval;
      interval.steps++;
      interval.images += step.size;
      interval.lossSum += step.loss;
      interval.wrong += step.wrong;
      interval.lr = lr;
      intervalImages += step.size;
      intervalSeconds += (performance.now() - t0) / 1000;
      if (!Number.isFinite(step.loss)) {
        status = 'diverged';
        divergedAt = iteration;
        const message = `loss is ${step.loss} at iteration ${iteration} (lr ${lr}): the run diverged`;
        emit({ type: 'warning', iteration, message, time: now() });
        progress.message(message);
        break;
      }
      lastStep = { iteration, lr, loss: step.loss, error: step.wrong / step.size, batchSize: step.size };
      callbacks.onStepEnd?.(lastStep);
      progress.step({
        iteration,
        lr,
        loss: interval.lossSum / interval.steps,
        error: interval.wrong / interval.images,
        imagesPerSecond: intervalImages / Math.max(intervalSeconds, 1e-9),
        ...(state.lastTest ? { testError: state.lastTest.error } : {}),
      });
      const evaluateDue = evaluateEvery > 0 && iteration % evaluateEvery === 0;
      if (evaluateDue) await evaluateNow();
      if (evaluateDue || iteration % logEvery === 0) writeRecord();
      if (paths && iteration % checkpointEvery === 0 && iteration < iterations) {
        await writeCheckpoint(paths.checkpoint, 'periodic');
      }
    }
    if (status === 'completed') {
      const needsEvaluation = options.evaluate && state.lastTest?.iteration !== iteration;
      if (needsEvaluation) await evaluateNow();
      if (needsEvaluation || state.lastRecordIteration !== iteration) writeRecord();
      if (paths) await writeCheckpoint(paths.final, 'final');
    } else if (status === 'interrupted' && paths) {
      await writeCheckpoint(paths.checkpoint, 'interrupt');
    }
  } finally {
    progress.stop();
    if (options.handleSignals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    options.signal?.removeEventListener('abort', onAbort);
    optimizer.dispose();
  }

  const interval = state.interval;
  const train =
    status === 'completed' || interval.steps === 0
      ? (state.lastTrain ?? { loss: Number.NaN, error: Number.NaN })
      : { loss: interval.lossSum / interval.steps, error: interval.wrong / interval.images };
  const wallSeconds = wall();
  emit({
    type: 'end',
    iteration,
    status,
    ...(divergedAt !== undefined ? { divergedAt } : {}),
    wallSeconds,
    time: now(),
  });
  metricsLog?.close();
  return {
    status,
    iteration,
    ...(divergedAt !== undefined ? { divergedAt } : {}),
    train,
    ...(state.lastTest ? { test: { loss: state.lastTest.loss, error: state.lastTest.error } } : {}),
    ...(paths ? { metricsPath: paths.metrics } : {}),
    ...(checkpointPath ? { checkpointPath } : {}),
    wallSeconds,
  };
}

/**
 * One iteration: forward with BN in training mode (which also moves BN's running statistics, as
 * tfjs-layers' BatchNormalization does in its training branch), softmax cross-entropy, gradients of every
 * trainable weight, and the update, unless the loss is not finite. Returns the batch's loss and mistakes.
 */
function trainStep(
  model: LayersModel,
  optimizer: MomentumSgd,
  batch: Batch,
  lr: number,
  outputs: 'logits' | 'probabilities',
): { loss: number; wrong: number; size: number } {
  let output: tf.Tensor | undefined;
  try {
    return tf.tidy(() => {
      const variables = optimizer.weights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const out = forward(model, batch.xs, true);
        // tf.variableGrads disposes what its function made except the loss; the output is needed for the error.
        output = tf.keep(out);
        return crossEntropy(out, batch.ys, outputs);
      }, variables);
      const wrong = countWrong(output!, batch.ys);
      const [loss, wrongCount] = tf.stack([value, wrong]).dataSync() as Float32Array;
      if (Number.isFinite(loss!)) optimizer.apply(grads, lr);
      return { loss: loss!, wrong: wrongCount!, size: batch.size ?? batch.xs.shape[0]! };
    });
  } finally {
    output?.dispose();
  }
}

/** Mean loss and top-1 error of `model` over `batches`, with BN (and dropout) in inference mode. */
export async function evaluate(
  model: LayersModel,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  outputs: OutputKind = 'auto',
): Promise<{ loss: number; error: number; images: number }> {
  const kind = resolveOutputs(model, outputs);
  let lossSum = 0;
  let wrongSum = 0;
  let images = 0;
  for await (const batch of batches) {
    try {
      const [loss, wrong] = tf.tidy(() => {
        const out = forward(model, batch.xs, false);
        return tf.stack([crossEntropy(out, batch.ys, kind), countWrong(out, batch.ys)]).dataSync();
      });
      const size = batch.size ?? batch.xs.shape[0]!;
      lossSum += loss! * size;
      wrongSum += wrong!;
      images += size;
    } finally {
      batch.xs.dispose();
      batch.ys.dispose();
    }
  }
  if (images === 0) throw new Error('evaluation got no batches: evaluate.batches() must yield the test set');
  return { loss: lossSum / images, error: wrongSum / images, images };
}

function forward(model: LayersModel, xs: tf.Tensor, training: boolean): tf.Tensor {
  const out = model.apply(xs, { training });
  if (Array.isArray(out) || !(out instanceof tf.Tensor)) {
    throw new Error('train: the model must have a single output tensor [batch, classes]');
  }
  if (out.rank !== 2)
    throw new Error(`train: the model's output must be [batch, classes], got [${out.shape}]`);
  return out;
}

/** Mean softmax cross-entropy; `ys` are class indices [B] or targets [B, C]. */
function crossEntropy(out: tf.Tensor, ys: tf.Tensor, outputs: 'logits' | 'probabilities'): tf.Scalar {
  const classes = out.shape[1]!;
  const target = targets(ys, classes, out.shape[0]!);
  // Probabilities are clipped as Keras does, so a confident mistake costs log(1e-7), not infinity.
  const logProbs = outputs === 'logits' ? tf.logSoftmax(out) : tf.log(tf.clipByValue(out, 1e-7, 1));
  return tf.neg(tf.mean(tf.sum(tf.mul(target, logProbs), 1))) as tf.Scalar;
}

function targets(ys: tf.Tensor, classes: number, batchSize: number): tf.Tensor {
  if (ys.shape[0] !== batchSize) {
    throw new Error(`labels have ${ys.shape[0]} rows but the batch has ${batchSize} examples`);
  }
  if (ys.rank === 1) return tf.oneHot(tf.cast(ys, 'int32'), classes);
  if (ys.rank === 2 && ys.shape[1] === classes) return tf.cast(ys, 'float32');
  throw new Error(`labels must be class indices [B] or one-hot [B, ${classes}], got [${ys.shape}]`);
}

function countWrong(out: tf.Tensor, ys: tf.Tensor): tf.Scalar {
  const truth = ys.rank === 1 ? tf.cast(ys, 'int32') : tf.argMax(ys, 1);
  return tf.sum(tf.cast(tf.notEqual(tf.argMax(out, 1), truth), 'float32'));
}

function resolveOutputs(model: LayersModel, outputs: OutputKind): 'logits' | 'probabilities' {
  if (outputs !== 'auto') return outputs;
  const last = model.layers[model.layers.length - 1];
  if (!last) return 'logits';
  const config = last.getConfig();
  return last.getClassName() === 'Softmax' || config['activation'] === 'softmax' ? 'probabilities' : 'logits';
}

function snapshot(name: string, tensor: tf.Tensor): CheckpointTensor {
  const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
  if (tensor.dtype !== dtype) {
    throw new Error(`checkpoint cannot store ${name}: dtype ${tensor.dtype} (float32 and int32 only)`);
  }
  const values = tensor.dataSync();
  const data = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
  return { name, shape: [...tensor.shape], dtype, data };
}

function restoreWeights(weights: readonly LayerVariable[], ckpt: Checkpoint): void {
  checkTensors('weights', ckpt, weights, ckpt.weights);
  tf.tidy(() => {
    weights.forEach((w, i) => {
      const t = ckpt.weights[i]!;
      w.write(tf.tensor(t.data, t.shape, t.dtype));
    });
  });
}

function restoreVelocity(optimizer: MomentumSgd, ckpt: Checkpoint): void {
  checkTensors('velocity', ckpt, optimizer.weights, ckpt.velocity);
  tf.tidy(() => optimizer.setVelocity(ckpt.velocity.map((t) => tf.tensor(t.data, t.shape, t.dtype))));
}

function checkTensors(
  what: string,
  ckpt: Checkpoint,
  weights: readonly LayerVariable[],
  saved: readonly CheckpointTensor[],
): void {
  const refuse = (detail: string) =>
    new Error(
      `checkpoint ${ckpt.path} does not fit this model (${what}: ${detail}); ` +
        'resume with the model that wrote it, or start a new run in another runDir',
    );
  if (saved.length !== weights.length) {
    throw refuse(`${saved.length} tensors saved, the model has ${weights.length}`);
  }
  weights.forEach((w, i) => {
    const t = saved[i]!;
    if (t.name !== w.originalName)
      throw refuse(`#${i} is '${t.name}' in the checkpoint, '${w.originalName}' here`);
    if (!tf.util.arraysEqual(t.shape, w.shape as number[])) {
      throw refuse(`'${t.name}' has shape [${t.shape}] in the checkpoint, [${w.shape}] here`);
    }
  });
}

function checkConfig(ckpt: Checkpoint, config: Record<string, unknown> | null): void {
  const before = canonical(ckpt.config);
  const now = canonical(config);
  if (before === now) return;
  const a = (ckpt.config ?? {}) as Record<string, unknown>;
  const b = config ?? {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const differences = keys
    .filter((k) => canonical(a[k]) !== canonical(b[k]))
    .map((k) => `${k}: ${canonical(a[k]) ?? 'absent'} in the checkpoint, ${canonical(b[k]) ?? 'absent'} now`);
  throw new Error(
    `checkpoint ${ckpt.path} was written for a different configuration (${differences.join('; ')}); ` +
      'resume with the same config, or start a new run in another runDir',
  );
}

function checkOptimizer(ckpt: Checkpoint, now: Checkpoint['optimizer']): void {
  if (canonical(ckpt.optimizer) !== canonical(now)) {
    throw new Error(
      `checkpoint ${ckpt.path} was written with optimizer ${canonical(ckpt.optimizer)}, not ${canonical(now)}; ` +
        'resume with the same optimizer options, or start a new run in another runDir',
    );
  }
}

/** JSON with sorted keys, so configurations compare by value. */
function canonical(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}

/** The checkpoint with the most iterations among `paths` that exist (each one verified; the first wins ties). */
async function latestCheckpoint(paths: readonly string[]): Promise<Checkpoint | undefined> {
  let best: Checkpoint | undefined;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const ckpt = await loadCheckpoint(path);
    if (!best || ckpt.iteration > best.iteration) best = ckpt;
  }
  return best;
}

function checkCount(name: string, value: number, allowZero = false): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return value;
}
