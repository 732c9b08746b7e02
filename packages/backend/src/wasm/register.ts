// Registers @resnet/backend's kernels on the wasm backend: the ones training a ResNet needs that
// @tensorflow/tfjs-backend-wasm lacks, and the ones it has that are far slower than they need to be.
import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { conv2DConfig, fusedConv2DConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { addConfig, fusedBatchNormConfig, reluConfig } from './elementwise.js';
import { rememberStockKernel } from './kernel-utils.js';
import { maxPoolGradConfig } from './max-pool-grad.js';

/** Every kernel this package registers for the wasm backend, and why. */
export const wasmTrainingKernels: ReadonlyArray<{ config: KernelConfig; reason: string }> = [
  {
    config: conv2DBackpropFilterConfig,
    reason: 'missing from tfjs-backend-wasm 4.22; without it no convolutional network can train',
  },
  {
    config: conv2DBackpropInputConfig,
    reason: "replaces the stock kernel, a direct loop about 10× slower than XNNPACK's forward Conv2D",
  },
  {
    config: conv2DConfig,
    reason:
      "native SIMD kernel where it applies (1.2–1.4× XNNPACK's speed, 1.5–2.5× in Winograd form for 3×3 " +
      'stride-1 layers of 32+ channels; pads or crops as it reads, which the input gradient needs); stock otherwise',
  },
  {
    config: fusedConv2DConfig,
    reason: 'as Conv2D, for convolutions without bias or activation (tfjs-layers calls this one)',
  },
  {
    config: reluConfig,
    reason: 'native: one pass on every thread (float32); stock otherwise',
  },
  {
    config: addConfig,
    reason: 'native: one pass on every thread for two float32 tensors of one shape; stock otherwise',
  },
  {
    config: fusedBatchNormConfig,
    reason:
      'native (inference): x·a + b per channel on every thread, about 10× the stock kernel; stock otherwise',
  },
  {
    config: maxPoolGradConfig,
    reason: 'replaces the stock kernel, which gives wrong gradients for some inputs with negative values',
  },
];

/**
 * Registers (or re-registers over the stock ones) the kernels in {@link wasmTrainingKernels}. Call it after
 * `@tensorflow/tfjs-backend-wasm` has been imported: importing it later would register its own kernels over
 * ours. Safe to call any number of times.
 */
export function registerWasmTrainingKernels(): void {
  if (getKernel('Conv2D', 'wasm') === undefined) {
    throw new Error(
      "@resnet/backend: import '@tensorflow/tfjs-backend-wasm' before registerWasmTrainingKernels(): " +
        'importing it afterwards would register its own kernels over these (initBackend does both in order)',
    );
  }
  for (const { config } of wasmTrainingKernels) {
    const current = getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    rememberStockKernel(config.kernelName);
    if (current !== undefined) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
}
