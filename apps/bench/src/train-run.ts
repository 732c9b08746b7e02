// One run of one row, read entirely from its config.json: the network it records, trained by @resnet/trainer
// on augmented batches of @resnet/data-cifar with the schedule it records, evaluated and checkpointed as it
// says, resuming from the run folder's checkpoint when there is one.
import { evalBatches, trainBatches } from '@resnet/data-cifar';
import { resnet } from '@resnet/models';
import { type MetricsRecord, stepSchedule, train } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { firstImages, type LoadedData } from './data.js';
import type { RunConfig } from './run-files.js';

/** The bias b_g of @resnet/shortcuts' gates (`<unit>_shortcut_gate`, a 1×1 convolution with a bias). */
const GATE_BIAS = /_shortcut_gate\/bias$/;

/** Images per evaluation batch: inference needs no gradient memory, so larger batches are cheap. */
const EVAL_BATCH = 250;

export interface TrainRunArgs {
  config: RunConfig;
  dir: string;
  data: LoadedData;
  signal?: AbortSignal;
  progress: 'auto' | 'bar' | 'lines' | 'none';
  onIteration?: (iteration: number) => void;
  /** Every record the trainer writes to metrics.jsonl, as it is written. */
  onRecord?: (record: MetricsRecord) => void;
  log: (line: string) => void;
}

export interface TrainRunResult {
  status: 'completed' | 'diverged' | 'interrupted';
  iteration: number;
  divergedAt?: number;
  /** The signal that interrupted it, when one did. */
  signal?: 'SIGINT' | 'SIGTERM';
  /** The iteration the run resumed from (0 for a fresh start). */
  resumedFrom: number;
  testErrorPercent: number | null;
  testLoss: number | null;
  trainLoss: number | null;
  trainErrorPercent: number | null;
  gateBias: { initial: number; finalMean: number; gates: number } | null;
  wallSeconds: number;
}

export async function trainRun(args: TrainRunArgs): Promise<TrainRunResult> {
  const { config, data } = args;
  const { stridedConvPadding: _padding, ...network } = config.model;
  const model = resnet({ ...network, classes: data.numClasses });
  const source = trainBatches(data.train, {
    batchSize: config.batchSize,
    normalization: data.normalization,
    augment: config.augment,
    seed: config.seed,
    dropLast: true,
  });
  const test = firstImages(data.test, config.testImages ?? undefined);
  let resumedFrom = 0;
  try {
    // What decides no number can change between invocations (the run count grows, logging and checkpoints
    // keep their own pace), so the trainer, which refuses to resume a run under another configuration, does
    // not see it.
    const { runs: _runs, checkpointEvery, logEvery, ...trainerConfig } = config;
    const result = await train({
      model,
      data: source,
      iterations: config.iterations,
      schedule: stepSchedule({
        baseLr: config.lrSchedule.baseLr,
        milestones: config.lrSchedule.milestones,
        warmup: config.lrSchedule.warmup ?? false,
      }),
      optimizer: {
        momentum: config.optimizer.momentum,
        nesterov: config.optimizer.nesterov,
        weightDecay: config.optimizer.weightDecay,
        noDecay: config.optimizer.noDecay,
      },
      evaluate: {
        every: config.evaluateEvery,
        batches: () => evalBatches(test, { batchSize: EVAL_BATCH, normalization: data.normalization }),
      },
      runDir: args.dir,
      checkpointEvery,
      logEvery,
      seed: config.seed,
      resume: true,
      config: trainerConfig as unknown as Record<string, unknown>,
      itersPerEpoch: Math.floor(data.train.size / config.batchSize),
      progress: args.progress,
      ...(args.signal ? { signal: args.signal } : {}),
      callbacks: {
        onLog: (record) => {
          if (record.type === 'start') resumedFrom = record.iteration;
          args.onRecord?.(record);
        },
        onIteration: (iteration) => args.onIteration?.(iteration),
      },
    });
    return {
      status: result.status,
      iteration: result.iteration,
      ...(result.divergedAt !== undefined ? { divergedAt: result.divergedAt } : {}),
      ...(result.signal ? { signal: result.signal } : {}),
      resumedFrom,
      testErrorPercent: result.status === 'completed' && result.test ? result.test.error * 100 : null,
      testLoss: result.test?.loss ?? null,
      trainLoss: Number.isFinite(result.train.loss) ? result.train.loss : null,
      trainErrorPercent: Number.isFinite(result.train.error) ? result.train.error * 100 : null,
      gateBias: await gateBias(model, config),
      wallSeconds: result.wallSeconds,
    };
  } finally {
    source.close();
    model.dispose();
  }
}

/** b_g at the start (the row's biasInit) and its mean over every gate of `model` now; null without gates. */
async function gateBias(model: tfl.LayersModel, config: RunConfig): Promise<TrainRunResult['gateBias']> {
  const biases = model.weights.filter((w) => GATE_BIAS.test(w.originalName));
  if (biases.length === 0) return null;
  let sum = 0;
  let count = 0;
  for (const bias of biases) {
    const total = tf.tidy(() => tf.sum(bias.read()));
    sum += (await total.data())[0]!;
    total.dispose();
    count += bias.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
  }
  const initial = (config.model.shortcutArgs as { biasInit?: number } | undefined)?.biasInit ?? 0;
  return { initial, finalMean: sum / count, gates: biases.length };
}
