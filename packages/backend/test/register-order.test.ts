// registerWasmTrainingKernels refuses to run before tfjs-backend-wasm is imported (importing it afterwards
// would silently put the stock kernels back), and works after. Its own process: nothing imports wasm first.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { registerWasmTrainingKernels, wasmTrainingKernels } from '../src/index.js';

it('asks for tfjs-backend-wasm to be imported first, then registers every kernel', async () => {
  expect(tf.getKernel('Conv2D', 'wasm')).toBeUndefined();
  expect(() => registerWasmTrainingKernels()).toThrow(
    "import '@tensorflow/tfjs-backend-wasm' before registerWasmTrainingKernels()",
  );
  await import('@tensorflow/tfjs-backend-wasm');
  registerWasmTrainingKernels();
  registerWasmTrainingKernels();
  for (const { config } of wasmTrainingKernels) {
    expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  }
});
