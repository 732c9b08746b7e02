// The gradient of every op a training step of the paper's networks uses runs on wasm (no kernel missing) and
// matches the cpu backend: tfjs composes most gradients from other kernels, and any of those could be absent
// from tfjs-backend-wasm.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { randomValues, relativeError, seededValues, valuesOn } from './helpers.js';

const shape: [number, number, number, number] = [2, 6, 6, 4];
const filter3x3 = randomValues([3, 3, 4, 6]);
const filter1x1 = randomValues([1, 1, 4, 6]);

/** Each op, applied to x [2, 6, 6, 4]; its gradient is taken with respect to x. */
const ops: Record<string, (x: tf.Tensor4D) => tf.Tensor> = {
  'conv 3×3 stride 1': (x) => tf.conv2d(x, tf.tensor4d(filter3x3, [3, 3, 4, 6]), 1, 'same'),
  'conv 3×3 stride 2': (x) => tf.conv2d(x, tf.tensor4d(filter3x3, [3, 3, 4, 6]), 2, 'same'),
  'conv 1×1 stride 2 (projection)': (x) => tf.conv2d(x, tf.tensor4d(filter1x1, [1, 1, 4, 6]), 2, 'same'),
  'fused conv + bias + relu': (x) =>
    tf.fused.conv2d({
      x,
      filter: tf.tensor4d(filter3x3, [3, 3, 4, 6]),
      strides: 2,
      pad: 'same',
      bias: tf.ones([6]),
      activation: 'relu',
    }),
  'batch norm (moments + FusedBatchNorm)': (x) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm(x, mean, variance, tf.zeros([4]), tf.fill([4], 1.5), 1e-3);
  },
  relu: (x) => tf.relu(x),
  sigmoid: (x) => tf.sigmoid(x),
  'gate (1 − σ(x))·x': (x) => tf.mul(tf.sub(1, tf.sigmoid(x)), x),
  'global average pooling': (x) => tf.mean(x, [1, 2]),
  'average pool 2×2 stride 2': (x) => tf.avgPool(x, 2, 2, 'valid'),
  'max pool 3×3 stride 2': (x) => tf.maxPool(x, 3, 2, 'same'),
  'zero-pad channels': (x) =>
    tf.pad(x, [
      [0, 0],
      [0, 0],
      [0, 0],
      [2, 2],
    ]),
  'subsample by reshape + slice': (x) =>
    tf.reshape(
      tf.slice(tf.reshape(x, [2, 3, 2, 3, 2, 4]), [0, 0, 0, 0, 0, 0], [2, 3, 1, 3, 1, 4]),
      [2, 3, 3, 4],
    ),
  concat: (x) => tf.concat([x, tf.square(x)], 3),
  tile: (x) => tf.tile(x, [1, 1, 1, 2]),
  'dropout 0.5 (seeded)': (x) => tf.dropout(x, 0.5, undefined, 7),
  'softmax cross-entropy': (x) =>
    tf.losses.softmaxCrossEntropy(tf.oneHot([1, 7], 144), tf.reshape(x, [2, -1])),
  'log-softmax': (x) => tf.logSoftmax(tf.reshape(x, [2, -1])),
  'L2 weight decay (square, sum)': (x) => tf.mul(1e-4, tf.sum(tf.square(x))),
  'clip (categorical cross-entropy)': (x) => tf.log(tf.clipByValue(tf.sigmoid(x), 1e-7, 1 - 1e-7)),
  'maximum, abs': (x) => tf.add(tf.maximum(x, 0.1), tf.abs(x)),
};

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'wasm' });
});

it.each(Object.entries(ops))('%s: gradient on wasm matches cpu', (_, op) => {
  const x = randomValues(shape);
  // A random weighting of the output, so that every output element's gradient matters.
  const weightsOf = (out: tf.Tensor) => tf.tensor(seededValues(out.size), out.shape);
  const gradient = () =>
    tf.grad((input: tf.Tensor) => {
      const out = op(input as tf.Tensor4D);
      return tf.sum(tf.mul(out, weightsOf(out)));
    })(tf.tensor4d(x, shape));
  const before = tf.memory().numTensors;
  const expected = valuesOn('cpu', gradient);
  const actual = valuesOn('wasm', gradient);
  expect(relativeError(actual, expected)).toBeLessThan(1e-5);
  expect(tf.memory().numTensors).toBe(before);
});
