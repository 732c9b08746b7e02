// Gradients and chained tensor methods work after importing only @resnet/backend and @tensorflow/tfjs-core
// (whose Node build registers neither), without @tensorflow/tfjs: this file imports nothing else from
// TensorFlow.js, vitest runs it in its own process, and no file of @tensorflow/tfjs is loaded.
// The vendored bundle that provides them (../vendor/tfjs-core-extras.cjs) is what its script makes from the
// installed tfjs-core.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { initBackend } from '../src/index.js';

const require = createRequire(import.meta.url);

it('registers them from its vendored bundle, with no @tensorflow/tfjs loaded', () => {
  const loaded = Object.keys(require.cache);
  expect(loaded.some((path) => path.endsWith('/vendor/tfjs-core-extras.cjs'))).toBe(true);
  expect(loaded.filter((path) => path.includes('/@tensorflow/tfjs/'))).toEqual([]);
});

it('ships vendor/tfjs-core-extras.cjs as its script writes it from the installed tfjs-core', () => {
  const script = new URL('../scripts/vendor-tfjs-core.mjs', import.meta.url);
  const output = execFileSync(process.execPath, [script.pathname, '--check'], { encoding: 'utf8' });
  expect(output).toMatch(/matches @tensorflow\/tfjs-core 4\./);
});

it('registers the gradients of the ops a ResNet uses', async () => {
  for (const kernel of [
    'Conv2D',
    'FusedBatchNorm',
    'Relu',
    'Mean',
    'Softmax',
    'Sigmoid',
    'PadV2',
    'AvgPool',
  ]) {
    expect(tf.getGradient(kernel), kernel).toBeDefined();
  }
});

it('computes tf.grad on cpu: d/dx Σ relu(x)² = 2·relu(x)', async () => {
  await initBackend({ backend: 'cpu' });
  const x = tf.tensor1d([-2, -0.5, 0.5, 3]);
  const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.relu(v))))(x);
  expect(Array.from(grad.dataSync())).toEqual([0, 0, 1, 6]);
  tf.dispose([x, grad]);
});

it('adds the chained tensor methods: x.square().sum() equals tf.sum(tf.square(x))', async () => {
  await initBackend({ backend: 'cpu' });
  const x = tf.tensor1d([1, -2, 3]);
  const chained = (x as unknown as { square(): { sum(): tf.Tensor } }).square().sum();
  expect(chained.dataSync()[0]).toBe(14);
  tf.dispose([x, chained]);
});
