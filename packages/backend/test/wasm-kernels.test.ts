// Every kernel that @resnet/backend registers for wasm matches the cpu backend on fresh random inputs, over
// a table of convolution geometries (strides 1 and 2, 'same'/'valid'/numeric/explicit padding, 1×1, 3×3 and
// non-square filters, odd and even sizes, batch 1 and 3, several channel counts).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { wasmTrainingKernels } from '../src/internals.js';
import { describeGeometry, type Geometry, grid } from './geometry.js';
import { randomValues, relativeError, seededValues, valuesOn } from './helpers.js';

function shapes(geometry: Geometry) {
  const x: [number, number, number, number] = [
    geometry.batch,
    geometry.height,
    geometry.width,
    geometry.inChannels,
  ];
  const filter: [number, number, number, number] = [
    ...geometry.filter,
    geometry.inChannels,
    geometry.outChannels,
  ];
  const dy = tf.tidy(
    () =>
      tf.conv2d(tf.zeros(x) as tf.Tensor4D, tf.zeros(filter) as tf.Tensor4D, geometry.strides, geometry.pad)
        .shape,
  );
  return { x, filter, dy };
}

/** How to call each registered kernel on one geometry, with fresh random inputs. */
const kernelCases: Record<string, (geometry: Geometry) => () => tf.Tensor> = {
  // The element-wise kernels take the geometry's input; NaN and negative zero are checked in relu-grad.test.ts.
  Relu: (geometry) => {
    const shape = shapes(geometry);
    const x = randomValues(shape.x);
    return () => tf.relu(tf.tensor4d(x, shape.x));
  },
  Add: (geometry) => {
    const shape = shapes(geometry);
    const a = randomValues(shape.x);
    const b = randomValues(shape.x);
    return () => tf.add(tf.tensor4d(a, shape.x), tf.tensor4d(b, shape.x));
  },
  FusedBatchNorm: (geometry) => {
    const shape = shapes(geometry);
    const channels = geometry.inChannels;
    const x = randomValues(shape.x);
    const [mean, offset, scale] = [0, 1, 2].map(() => randomValues([channels]));
    const variance = randomValues([channels]).map((value) => value + 1.5);
    return () =>
      tf.batchNorm(
        tf.tensor4d(x, shape.x),
        tf.tensor1d(mean!),
        tf.tensor1d(variance),
        tf.tensor1d(offset!),
        tf.tensor1d(scale!),
        1e-3,
      );
  },
  Conv2D: (geometry) => {
    const shape = shapes(geometry);
    const x = randomValues(shape.x);
    const filter = randomValues(shape.filter);
    return () =>
      tf.conv2d(
        tf.tensor4d(x, shape.x),
        tf.tensor4d(filter, shape.filter),
        geometry.strides,
        geometry.pad as 'same',
      );
  },
  // tfjs-layers' convolutions call this one; a bias or activation sends it to the stock kernel (tested below).
  FusedConv2D: (geometry) => {
    const shape = shapes(geometry);
    const x = randomValues(shape.x);
    const filter = randomValues(shape.filter);
    return () =>
      tf.fused.conv2d({
        x: tf.tensor4d(x, shape.x),
        filter: tf.tensor4d(filter, shape.filter),
        strides: geometry.strides,
        pad: geometry.pad as 'same',
      });
  },
  Conv2DBackpropFilter: (geometry) => {
    const shape = shapes(geometry);
    const x = randomValues(shape.x);
    const dy = randomValues(shape.dy);
    return () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: tf.tensor(x, shape.x), dy: tf.tensor(dy, shape.dy) },
          { strides: geometry.strides, pad: geometry.pad, dataFormat: 'NHWC', filterShape: shape.filter },
        ) as tf.Tensor;
  },
  // The geometry's filter is the pooling window; explicit padding becomes 'same' (pooling takes no pad array).
  MaxPoolGrad: (geometry) => {
    const x = randomValues(shapes(geometry).x);
    const pad = typeof geometry.pad === 'object' ? 'same' : geometry.pad;
    return () => {
      const input = tf.tensor4d(x, shapes(geometry).x);
      const output = tf.maxPool(input, geometry.filter, geometry.strides, pad);
      const dy = tf.tensor(seededValues(output.size), output.shape);
      return tf
        .engine()
        .runKernel(
          'MaxPoolGrad',
          { dy, input, output },
          { filterSize: geometry.filter, strides: geometry.strides, pad },
        ) as tf.Tensor;
    };
  },
  Conv2DBackpropInput: (geometry) => {
    const shape = shapes(geometry);
    const dy = randomValues(shape.dy);
    const filter = randomValues(shape.filter);
    return () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy: tf.tensor(dy, shape.dy), filter: tf.tensor(filter, shape.filter) },
          { strides: geometry.strides, pad: geometry.pad, dataFormat: 'NHWC', inputShape: shape.x },
        ) as tf.Tensor;
  },
};

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
