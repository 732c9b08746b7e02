// The cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner is used up by
// initBackend without silencing anything else (its own process: the banner shows once per process).
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, vi } from 'vitest';
import { initBackend } from '../src/index.js';

it('initialises cpu without the banner and leaves the IS_TEST flag as it was', async () => {
  const warn = vi.spyOn(console, 'warn');
  const isTest = tf.env().getBool('IS_TEST');
  await initBackend({ backend: 'cpu' });
  tf.tidy(() => tf.add(tf.ones([2]), tf.ones([2])).dataSync());
  const banners = warn.mock.calls.filter((args) =>
    String(args[0]).includes('running TensorFlow.js in Node.js'),
  );
  warn.mockRestore();
  expect(banners).toEqual([]);
  expect(tf.env().getBool('IS_TEST')).toBe(isTest);
});
