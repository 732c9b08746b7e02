// End to end on generated data: synthetic files → loadCifar → normalisation → augmented one-hot batches →
// a small softmax classifier trained with tfjs-core's SGD. The loss must fall, without leaking tensors.
import { join } from 'node:path';
import { initBackend } from '@resnet/backend';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeNormalization, loadCifar, trainBatches, writeSyntheticCifar } from '../src/index.js';
import { tempDir } from './helpers.js';

let root: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  await initBackend({ backend: (process.env['RESNET_TEST_BACKEND'] ?? 'cpu') as 'cpu' | 'wasm' });
  root = await tempDir('smoke');
});

afterAll(async () => {
  await root.remove();
});

describe('smoke training on synthetic CIFAR-10', () => {
  it('reduces the loss of a small classifier', async () => {
    await writeSyntheticCifar({
      dataset: 'cifar10',
      dir: join(root.path, 'data'),
      trainCount: 400,
      testCount: 20,
      seed: 3,
    });
    const data = await loadCifar({
      dataset: 'cifar10',
      dataDir: join(root.path, 'data'),
      allowUnofficial: true,
    });
    const normalization = computeNormalization(data.train);
    const source = trainBatches(data.train, { batchSize: 32, normalization, seed: 1, oneHot: 10 });
    const before = tf.memory().numTensors;
    // Features: each channel's mean and its mean over 4×4 blocks, i.e. colour where it is in the image.
    // tf.variable keeps its initial tensor alive as a separate tensor: create both inside tidy.
    const w = tf.tidy(() => tf.variable(tf.zeros([3 * 16 + 3, 10])));
    const b = tf.tidy(() => tf.variable(tf.zeros([10])));
    const optimizer = tf.train.sgd(0.3);
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const { xs, ys } = await source.next();
      const loss = optimizer.minimize(() => {
        const pooled = tf.reshape(tf.avgPool(xs, 8, 8, 'valid'), [xs.shape[0], 48]);
        const global = tf.mean(xs, [1, 2]);
        const logits = tf.add(tf.matMul(tf.concat([pooled, global], 1), w), b);
        return tf.losses.softmaxCrossEntropy(ys, logits);
      }, true)!;
      losses.push((await loss.data())[0]!);
      tf.dispose([loss, xs, ys]);
    }
    source.close();
    // Zero weights start at chance (ln 10); the generated classes are easy, so the loss falls far.
    expect(losses[0]).toBeCloseTo(Math.log(10), 4);
    const last = losses.slice(-5).reduce((a, c) => a + c, 0) / 5;
    expect(last, `losses: ${losses.map((l) => l.toFixed(2)).join(' ')}`).toBeLessThan(0.5 * Math.log(10));
    optimizer.dispose();
    tf.dispose([w, b]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
