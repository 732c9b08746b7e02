// Every kernel a ResNet training step runs on the webgpu backend (tfjs-backend-webgpu's shaders, as a profile
// of one step of each Fig. 4 order lists them) matches the cpu backend on fresh random inputs: the convolution
// and batch-norm kernels over the geometry table the wasm kernels are tested on, the element-wise, reduction
// and matrix kernels on each geometry's input (about a minute on lavapipe, 2 cores). Reads go through `await data()`: webgpu has no dataSync in Node.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeWebgpu, initBackend } from '../src/index.js';
import { describeGeometry, grid } from './geometry.js';
import { relativeError } from './helpers.js';
import { trainingKernelCases as cases } from './webgpu-cases.js';
import { adapterName, requireAdapter, valuesOn, webgpuReady } from './webgpu-setup.js';

requireAdapter();

beforeAll(async () => {
  if (!webgpuReady) return;
  await initBackend({ backend: 'cpu' });
  await initBackend({ backend: 'webgpu' });
});

afterAll(async () => {
  await disposeWebgpu();
});

describe.runIf(webgpuReady)(`webgpu kernels on ${adapterName}`, () => {
  for (const [kernelName, makeCase] of Object.entries(cases)) {
    it(`${kernelName} matches cpu within 1e-5 over the ${grid.length} geometries`, async () => {
      const before = tf.memory().numTensors;
      for (const geometry of grid) {
        const compute = makeCase(geometry);
        const expected = await valuesOn('cpu', compute);
        const actual = await valuesOn('webgpu', compute);
        expect(relativeError(actual, expected), describeGeometry(geometry)).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('runs tfjs-backend-webgpu’s own kernels (no override of @resnet/backend on webgpu)', () => {
    for (const kernelName of Object.keys(cases)) {
      expect(tf.getKernel(kernelName, 'webgpu'), kernelName).toBeDefined();
    }
  });
});
