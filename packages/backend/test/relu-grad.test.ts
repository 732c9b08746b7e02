// The one-pass ReLU gradient (native relu_grad on wasm) gives tfjs's dy · step(x) exactly, NaN and
// infinities included, and its gradient config falls back to tfjs's formula where the kernel cannot run.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { configureNativeKernels, ReluGradKernel } from '../src/internals.js';
import { randomValues } from './helpers.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'wasm' });
});

/** The gradient of sum(relu(x) · w) with respect to x, i.e. w · step(x), on `backend`. */
function reluGradient(backend: 'cpu' | 'wasm', x: Float32Array, w: Float32Array): Float32Array {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const weights = tf.tensor1d(w);
    const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.relu(input), weights)))(tf.tensor1d(x));
    return grad.dataSync() as Float32Array;
  });
}

it('matches tfjs on cpu bit for bit, odd lengths, zeros, NaN and infinities included', () => {
  for (const length of [1, 3, 4, 7, 1000, 4099]) {
    const x = randomValues([length]);
    const w = randomValues([length]);
    x[0] = 0;
    if (length > 3) {
      x[1] = Number.NaN;
      x[2] = -0;
      w[3] = Number.POSITIVE_INFINITY;
      x[3] = length % 2 === 0 ? -1 : 1;
    }
    const before = tf.memory().numTensors;
    const expected = reluGradient('cpu', x, w);
    const actual = reluGradient('wasm', x, w);
    expect(Array.from(actual)).toEqual(Array.from(expected));
    expect(tf.memory().numTensors).toBe(before);
  }
});

it('runs as one kernel on wasm with the native kernels, as Step/Cast/Multiply without them', async () => {
  const x = randomValues([64]);
  const w = randomValues([64]);
  const kernelsOf = async () => {
    tf.setBackend('wasm');
    const info = await tf.profile(() => {
      reluGradient('wasm', x, w);
    });
    return info.kernelNames;
  };
  expect(await kernelsOf()).toContain(ReluGradKernel);
  configureNativeKernels({ enabled: false });
  try {
    const names = await kernelsOf();
    expect(names).not.toContain(ReluGradKernel);
    expect(names).toContain('Step');
    expect(Array.from(reluGradient('wasm', x, w))).toEqual(Array.from(reluGradient('cpu', x, w)));
  } finally {
    configureNativeKernels({ enabled: true });
  }
});
