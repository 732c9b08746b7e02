// The training loop on the cpu backend: it learns, it updates BN statistics exactly as BN defines them, it
// stops on divergence, it leaks no tensors, and it writes what it promises.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  type Batch,
  constantSchedule,
  evaluate,
  type LogRecord,
  type MetricsRecord,
  parseMetrics,
  train,
} from '../src/index.js';
import { FixedSource, RandomSource, setupBackend, tinyConvNet } from './helpers.js';

beforeAll(setupBackend);

/** Eight fixed random images with labels: a set small enough to memorise. */
function handful(): { xs: tf.Tensor; ys: tf.Tensor } {
  const source = new RandomSource({ batchSize: 8, seed: 3 });
  const { xs, ys } = source.next();
  return { xs, ys };
}

test('overfits a handful of images to zero training error', async () => {
  const { xs, ys } = handful();
  const model = tinyConvNet({ name: 'overfit', seed: 5 });
  const result = await train({
    model,
    data: new FixedSource(xs, ys),
    iterations: 300,
    schedule: constantSchedule(0.1),
    optimizer: { weightDecay: 0 },
    evaluate: { every: 100, batches: () => [{ xs: xs.clone(), ys: ys.clone() }] },
    logEvery: 50,
    progress: 'none',
  });
  expect(result.status).toBe('completed');
  expect(result.iteration).toBe(300);
  expect(result.train.error).toBe(0);
  // In inference mode too (BN's moving statistics have caught up with the batch statistics).
  expect(result.test?.error).toBe(0);
  expect(result.train.loss).toBeLessThan(0.1);
  xs.dispose();
  ys.dispose();
});

test('a model ending in a fused softmax is trained on its logits (outputs: auto)', async () => {
  const { xs, ys } = handful();
  const model = tinyConvNet({ name: 'softmax', seed: 5, softmax: true });
  const result = await train({
    model,
    data: new FixedSource(xs, ys),
    iterations: 300,
    schedule: constantSchedule(0.1),
    optimizer: { weightDecay: 0 },
    progress: 'none',
  });
  expect(result.train.error).toBe(0);
  expect(result.train.loss).toBeLessThan(0.1);
  xs.dispose();
  ys.dispose();
});

test('one step moves BN moving mean by (1 − momentum) × the batch mean, and evaluation uses it', async () => {
  const { xs, ys } = handful();
  const model = tinyConvNet({ name: 'bnstat' });
  const bn = model.getLayer('bnstat_bn');
  const conv = model.getLayer('bnstat_conv');
  const batchMean = tf.tidy(() => tf.mean(conv.apply(xs) as tf.Tensor, [0, 1, 2]).arraySync() as number[]);
  const evalBefore = await evaluate(model, [{ xs: xs.clone(), ys: ys.clone() }]);
  await train({
    model,
    data: new FixedSource(xs, ys),
    iterations: 1,
    schedule: constantSchedule(0),
    progress: 'none',
  });
  const movingMean = bn.getWeights()[2]!.arraySync() as number[];
  const momentum = bn.getConfig()['momentum'] as number;
  for (const [c, m] of batchMean.entries()) expect(movingMean[c]).toBeCloseTo((1 - momentum) * m, 6);
  expect(Math.max(...batchMean.map(Math.abs))).toBeGreaterThan(1e-3);
  // With lr 0 only BN's statistics changed, and inference-mode evaluation sees that.
  const evalAfter = await evaluate(model, [{ xs: xs.clone(), ys: ys.clone() }]);
  expect(evalAfter.loss).not.toBe(evalBefore.loss);
  xs.dispose();
  ys.dispose();
});

test('a step changes every weight: conv, BN γ/β and moving statistics, dense', async () => {
  const model = tinyConvNet({ name: 'every' });
  const before = new Map(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
  await train({ model, data: new RandomSource(), iterations: 2, progress: 'none' });
  const unchanged = model.weights.filter((w) =>
    tf.util.arraysEqual(Array.from(w.read().dataSync()), before.get(w.originalName)!),
  );
  expect(model.weights).toHaveLength(7);
  expect(unchanged.map((w) => w.originalName)).toEqual([]);
});

test('one-hot labels train like class indices', async () => {
  const run = async (oneHot: boolean) => {
    const model = tinyConvNet({ name: oneHot ? 'onehot' : 'indices' });
    return train({
      model,
      data: new RandomSource({ oneHot }),
      iterations: 3,
      progress: 'none',
      seed: 1,
    });
  };
  const a = await run(true);
  const b = await run(false);
  expect(a.train.loss).toBeCloseTo(b.train.loss, 5);
  expect(a.train.error).toBe(b.train.error);
});

describe('divergence', () => {
  test('a NaN loss stops the run at once, marked diverged at that iteration', async () => {
    const model = tinyConvNet({ name: 'nan' });
    const source = new RandomSource();
    const data = {
      next(): Batch {
        const batch = source.next();
        if (source.served !== 4) return batch;
        batch.xs.dispose();
        return { xs: tf.fill([8, 4, 4, 2], Number.NaN), ys: batch.ys };
      },
    };
    const runDir = await mkdtemp(join(tmpdir(), 'trainer-nan-'));
    const steps: number[] = [];
    const before = tf.memory().numTensors;
    const result = await train({
      model,
      data,
      iterations: 10,
      runDir,
      progress: 'none',
      callbacks: { onStepEnd: (e) => steps.push(e.iteration) },
    });
    expect(result.status).toBe('diverged');
    expect(result.divergedAt).toBe(4);
    expect(result.iteration).toBe(4);
    expect(steps).toEqual([1, 2, 3]);
    expect(Number.isNaN(result.train.loss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    const records = parseMetrics(await readFile(join(runDir, 'metrics.jsonl'), 'utf8'));
    expect(records.at(-1)).toMatchObject({ type: 'end', status: 'diverged', divergedAt: 4 });
    // No final checkpoint for a failed run.
    expect(result.checkpointPath).toBeUndefined();
  });

  test('an exploding learning rate ends as diverged, not as an exception', async () => {
    const model = tinyConvNet({ name: 'explode' });
    const result = await train({
      model,
      data: new RandomSource(),
      iterations: 200,
      schedule: constantSchedule(1e30),
      progress: 'none',
    });
    expect(result.status).toBe('diverged');
    expect(result.divergedAt).toBeLessThan(200);
  });
});

test('no tensor growth over many steps, evaluations and checkpoints', async () => {
  const model = tinyConvNet({ name: 'leak', dropout: 0.3 });
  const runDir = await mkdtemp(join(tmpdir(), 'trainer-leak-'));
  const testSet = new RandomSource({ seed: 99 });
  const before = tf.memory().numTensors;
  const live: number[] = [];
  const result = await train({
    model,
    data: new RandomSource(),
    iterations: 200,
    logEvery: 20,
    checkpointEvery: 50,
    evaluate: { every: 40, batches: () => [testSet.next(), testSet.next()] },
    runDir,
    progress: 'none',
    callbacks: { onStepEnd: () => live.push(tf.memory().numTensors) },
  });
  expect(result.status).toBe('completed');
  expect(new Set(live).size).toBe(1);
  expect(tf.memory().numTensors).toBe(before);
  const logs = parseMetrics(await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).filter(
    (r): r is LogRecord => r.type === 'log',
  );
  expect(logs).toHaveLength(10);
  expect(logs.every((r) => r.tensorGrowth === 0)).toBe(true);
});

test('a leak is reported in the metrics and as a warning', async () => {
  const model = tinyConvNet({ name: 'leaky' });
  const kept: tf.Tensor[] = [];
  const records: MetricsRecord[] = [];
  await train({
    model,
    data: new RandomSource(),
    iterations: 6,
    logEvery: 2,
    progress: 'none',
    callbacks: {
      onStepEnd: () => kept.push(tf.zeros([1])),
      onLog: (r) => records.push(r),
    },
  });
  const logs = records.filter((r): r is LogRecord => r.type === 'log');
  // The baseline is taken after the first step, before its callback: each step's tensor counts.
  expect(logs.map((r) => r.tensorGrowth)).toEqual([2, 4, 6]);
  expect(records.some((r) => r.type === 'warning' && /live tensors grew/.test(r.message))).toBe(true);
  for (const t of kept) t.dispose();
});

test('metrics.jsonl holds one record per interval with the documented fields; lines go to the stream', async () => {
  const model = tinyConvNet({ name: 'metrics' });
  const runDir = await mkdtemp(join(tmpdir(), 'trainer-metrics-'));
  const testSet = new RandomSource({ seed: 42 });
  const out = new PassThrough();
  let printed = '';
  out.on('data', (chunk) => {
    printed += chunk;
  });
  const evaluations: number[] = [];
  const checkpoints: string[] = [];
  const result = await train({
    model,
    data: new RandomSource(),
    iterations: 25,
    logEvery: 10,
    checkpointEvery: 20,
    itersPerEpoch: 5,
    evaluate: { every: 20, batches: () => [testSet.next()] },
    schedule: (i) => (i < 10 ? 0.05 : 0.02),
    runDir,
    seed: 11,
    config: { depth: 8 },
    progress: 'lines',
    progressStream: out as unknown as NodeJS.WriteStream,
    callbacks: {
      onEvaluate: (e) => evaluations.push(e.iteration),
      onCheckpoint: (e) => checkpoints.push(`${e.reason}@${e.iteration}`),
    },
  });
  expect(result.metricsPath).toBe(join(runDir, 'metrics.jsonl'));
  expect(result.checkpointPath).toBe(join(runDir, 'final.ckpt'));
  const records = parseMetrics(await readFile(result.metricsPath!, 'utf8'));
  expect(records.map((r) => r.type)).toEqual([
    'start',
    'log',
    'log',
    'checkpoint',
    'log',
    'checkpoint',
    'end',
  ]);
  const logs = records.filter((r): r is LogRecord => r.type === 'log');
  expect(logs.map((r) => [r.iteration, r.epoch, r.lr, r.trainIterations])).toEqual([
    [10, 2, 0.05, 10],
    [20, 4, 0.02, 10],
    [25, 5, 0.02, 5],
  ]);
  expect(logs[0]!.testError).toBeUndefined();
  expect(logs[1]!.testError).toBeGreaterThanOrEqual(0);
  expect(logs[2]!.testLoss).toBe(result.test!.loss);
  expect(result.train).toEqual({ loss: logs[2]!.trainLoss, error: logs[2]!.trainError });
  for (const r of logs) {
    expect(r.trainLoss).toBeGreaterThan(0);
    expect(r.trainError).toBeGreaterThanOrEqual(0);
    expect(r.imagesPerSecond).toBeGreaterThan(0);
    expect(r.liveTensors).toBeGreaterThan(0);
    expect(r.wallSeconds).toBeGreaterThan(0);
  }
  expect(records[0]).toMatchObject({ type: 'start', seed: 11, config: { depth: 8 }, iterations: 25 });
  expect(evaluations).toEqual([20, 25]);
  expect(checkpoints).toEqual(['periodic@20', 'final@25']);
  const lines = printed.trim().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines[1]).toMatch(
    /^\[trainer\] iter 20\/25 {2}epoch 4\.00 {2}lr 0\.02 {2}loss \d\.\d{4} {2}err [\d.]+% {2}test loss/,
  );
});

test('bad options are refused with what was wrong', async () => {
  const model = tinyConvNet({ name: 'opts' });
  const data = new RandomSource();
  await expect(train({ model, data, iterations: -1 })).rejects.toThrow(
    /iterations must be a non-negative integer/,
  );
  await expect(train({ model, data, iterations: 1, checkpointEvery: 5 })).rejects.toThrow(/needs a runDir/);
  await expect(train({ model, data, iterations: 1, resume: true })).rejects.toThrow(
    /resume needs the runDir/,
  );
  await expect(
    train({ model, data, iterations: 1, schedule: () => Number.NaN, progress: 'none' }),
  ).rejects.toThrow(/learning rate NaN for iteration 0/);
  await expect(evaluate(model, [])).rejects.toThrow(/evaluation got no batches/);
});
