// Every kernel that @resnet/backend registers for wasm matches the cpu backend on fresh random inputs, over
// a table of convolution geometries (strides 1 and 2, 'same'/'valid'/numeric/explicit padding, 1×1, 3×3 and
// non-square filters, odd and even sizes, batch 1 and 3, several channel counts).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { wasmTrainingKernels } from '../src/internals.js';
import { describeGeometry, grid, kernelCases, shapes } from './geometry.js';
import { randomValues, relativeError, valuesOn } from './helpers.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'wasm' });
});

it('has test cases for every kernel it registers', () => {
  for (const { config } of wasmTrainingKernels) expect(Object.keys(kernelCases)).toContain(config.kernelName);
});

for (const { config } of wasmTrainingKernels) {
  describe(`wasm ${config.kernelName}`, () => {
    it('is the kernel @resnet/backend registered', () => {
      expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    });

    it.each(grid.map((geometry) => [describeGeometry(geometry), geometry] as const))(
      'matches cpu within 1e-5: %s',
      (_, geometry) => {
        const compute = kernelCases[config.kernelName]!(geometry);
        const before = tf.memory().numTensors;
        const expected = valuesOn('cpu', compute);
        const actual = valuesOn('wasm', compute);
        expect(relativeError(actual, expected)).toBeLessThan(1e-5);
        expect(tf.memory().numTensors).toBe(before);
      },
    );
  });
}

it('frees every intermediate buffer on the wasm heap', () => {
  const geometry = grid.find((g) => g.strides[0] === 2 && g.filter[0] === 3 && g.pad === 'same')!;
  tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  for (const { config } of wasmTrainingKernels) {
    const compute = kernelCases[config.kernelName]!(geometry);
    tf.tidy(compute).dispose();
    const buffers = backend.numDataIds();
    tf.tidy(compute).dispose();
    expect(backend.numDataIds()).toBe(buffers);
  }
});

it('FusedConv2D with a bias and an activation (the stock kernel) matches cpu', () => {
  const geometry = grid.find((g) => g.strides[0] === 2 && g.filter[0] === 3 && g.outChannels === 16)!;
  const shape = shapes(geometry);
  const x = randomValues(shape.x);
  const filter = randomValues(shape.filter);
  const bias = randomValues([geometry.outChannels]);
  const compute = () =>
    tf.fused.conv2d({
      x: tf.tensor4d(x, shape.x),
      filter: tf.tensor4d(filter, shape.filter),
      strides: geometry.strides,
      pad: geometry.pad as 'same',
      bias: tf.tensor1d(bias),
      activation: 'relu',
    });
  expect(relativeError(valuesOn('wasm', compute), valuesOn('cpu', compute))).toBeLessThan(1e-5);
});
