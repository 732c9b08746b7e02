// Order independence by construction: the override table installs a wasm kernel only once
// tfjs-backend-wasm is loaded, and apply() reads every slot as it is, so registering before or after the
// import, and importing again, ends with ours in place. Its own process: nothing imports wasm first.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { apply, registerWasmTrainingKernels, restore, wasmTrainingKernels } from '../src/internals.js';

it('installs every wasm kernel whatever came first; restore() puts back what a switch governs', async () => {
  expect(tf.getKernel('Conv2D', 'wasm')).toBeUndefined();
  // Before tfjs-backend-wasm is loaded there is nothing to install over: apply() leaves wasm alone.
  apply();
  expect(tf.getKernel('Conv2D', 'wasm')).toBeUndefined();
  registerWasmTrainingKernels();
  registerWasmTrainingKernels();
  for (const { config } of wasmTrainingKernels) {
    expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  }
  // restore() puts back what a switch governs (here the copying Identity) and keeps the kernels wasm cannot
  // train without (the table's 'always' rows), whose own fallbacks are the stock kernels.
  const { stockKernel } = await import('../src/overrides/stock.js');
  const ourIdentity = tf.getKernel('Identity', 'wasm')?.kernelFunc;
  expect(ourIdentity).not.toBe(stockKernel('Identity')?.kernelFunc);
  restore();
  expect(tf.getKernel('Identity', 'wasm')?.kernelFunc).toBe(stockKernel('Identity')?.kernelFunc);
  for (const { config } of wasmTrainingKernels) {
    expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  }
  // Importing tfjs-backend-wasm's kernels again (what a second copy of the package does) and applying again
  // ends with ours in place.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  expect(wasm).toBeDefined();
  apply();
  expect(tf.getKernel('Identity', 'wasm')?.kernelFunc).toBe(ourIdentity);
  for (const { config } of wasmTrainingKernels) {
    expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
  }
});
