// Gradients work after importing only @resnet/backend and @tensorflow/tfjs-core (whose Node build registers
// none): this file imports nothing else from TensorFlow.js, and vitest runs it in its own process.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { initBackend } from '../src/index.js';

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
