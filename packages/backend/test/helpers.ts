// Shared by the tests: run the same computation on two backends and compare the results.
import * as tf from '@tensorflow/tfjs-core';

/** Uniform random values in [-1, 1), fresh on every call. */
export function randomValues(shape: readonly number[]): Float32Array {
  const values = new Float32Array(shape.reduce((size, dim) => size * dim, 1));
  for (let i = 0; i < values.length; i++) values[i] = Math.random() * 2 - 1;
  return values;
}

/** Runs `compute` inside tidy on `backend` and returns the result's values. */
export function valuesOn(backend: 'cpu' | 'wasm', compute: () => tf.Tensor): Float32Array {
  if (!tf.setBackend(backend)) throw new Error(`backend ${backend} is not initialised`);
  const result = tf.tidy(compute);
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return values;
}

/**
 * The relative error every comparison in these tests uses: max |a − b| over all elements, divided by
 * max |b| (b is the reference, the cpu backend), with 1e-30 as the floor of the divisor.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length)
    throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let difference = 0;
  let scale = 1e-30;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return difference / scale;
}

/** Values in [-1, 1) that are the same on every call (so on both backends), from a small LCG. */
export function seededValues(size: number, seed = 12345): Float32Array {
  const values = new Float32Array(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    values[i] = state / 1073741824 - 1;
  }
  return values;
}
