// Divergence on the wasm backend (the embedded default): a learning rate of 1e38 makes the weights
// non-finite; the run is recorded as diverged at the iteration it happened and stops, whatever the loss reads.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backend';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, expect, test } from 'vitest';
import { constantSchedule, parseMetrics, type StepEndEvent, train } from '../src/index.js';
import { RandomSource, tinyConvNet } from './helpers.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

test('lr 1e38 on wasm: diverged at the first iteration whose loss or weights are not finite, and stopped', async () => {
  expect(tf.getBackend()).toBe('wasm');
  const base = tinyConvNet({ name: 'wasm_explode' });
  // Ends in a softmax layer, as the presets do.
  const model = tfl.model({
    inputs: base.inputs,
    outputs: tfl.layers.softmax({ name: 'p' }).apply(base.outputs[0]!) as tfl.SymbolicTensor,
  });
  const runDir = await mkdtemp(join(tmpdir(), 'trainer-wasm-diverge-'));
  const steps: StepEndEvent[] = [];
  const before = tf.memory().numTensors;
  const result = await train({
    model,
    data: new RandomSource(),
    iterations: 50,
    schedule: constantSchedule(1e38),
    runDir,
    logEvery: 10,
    progress: 'none',
    callbacks: { onStepEnd: (e) => steps.push(e) },
  });
  expect(result.status).toBe('diverged');
  expect(result.divergedAt).toBeDefined();
  expect(result.iteration).toBe(result.divergedAt);
  // Every iteration before it was finite, loss and weights: the one recorded is the first.
  expect(steps.map((s) => s.iteration)).toEqual(
    Array.from({ length: result.divergedAt! - 1 }, (_, i) => i + 1),
  );
  expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
  const records = parseMetrics(await readFile(join(runDir, 'metrics.jsonl'), 'utf8'));
  expect(records.at(-1)).toMatchObject({ type: 'end', status: 'diverged', divergedAt: result.divergedAt });
  expect(records.some((r) => r.type === 'checkpoint' && r.reason === 'final')).toBe(false);
  console.log(`wasm lr 1e38: diverged at ${result.divergedAt} (${result.divergence})`);
});

test('a weight that turns non-finite while the loss stays finite is caught at that iteration', async () => {
  // Iteration 3's loss is computed before its update, from finite weights; the update (lr 1e38, decay 10)
  // overflows them to ±∞. The loss would only show it at iteration 4; the weight check sees it at 3.
  const input = tfl.input({ shape: [2] });
  const live = tfl.layers.dense({ units: 3, name: 'live' }).apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: live });
  const data = {
    next: () => ({ xs: tf.ones([4, 2]), ys: tf.tensor1d([0, 1, 2, 0], 'int32') }),
  };
  const result = await train({
    model,
    data,
    iterations: 5,
    schedule: (i) => (i < 2 ? 0.01 : 1e38),
    optimizer: { weightDecay: 10 },
    progress: 'none',
  });
  expect(result.status).toBe('diverged');
  expect(result.divergedAt).toBe(3);
  expect(result.divergence).toBe('weights');
});
