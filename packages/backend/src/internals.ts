// @resnet/backend/internals: the knobs that only the benchmarks (`perf --stock`) and this package's tests
// use, over the same override table and configuration that initBackend applies. Not needed to train: use
// initBackend({ fast }) instead. Stable within a minor version only.
import './node/runtime.js';
import type * as tf from '@tensorflow/tfjs-core';
import {
  configChanges,
  type FastKernelsInfo,
  type FastKernelsOptions,
  fastKernelsInfo,
  registerFastKernels,
} from './fast-kernels.js';
import {
  apply,
  type ConfigChanges,
  describeOverrides,
  type OverrideRow,
  restore,
} from './overrides/apply.js';
import { type Override, type OverrideKind, overrides } from './overrides/table.js';
import { activeConfig, type BackendConfig, defaultWasmThreads } from './runtime/config.js';
import { nativeKernelsOfBackend } from './runtime/platform.js';
import { NativeKernels, nativeKernelNames } from './runtime/pool.js';

export { BatchNormTrainingGradKernel, BatchNormTrainingKernel } from './ops/batch-norm/kernels.js';
export { fusedBatchNormGradConfig } from './ops/batch-norm/training.js';
export { ReluGradKernel, reluGradConfig } from './ops/relu/gradient.js';
export type {
  BackendConfig,
  ConfigChanges,
  FastKernelsInfo,
  FastKernelsOptions,
  Override,
  OverrideKind,
  OverrideRow,
};
export {
  activeConfig,
  apply,
  configChanges,
  defaultWasmThreads,
  describeOverrides,
  fastKernelsInfo,
  NativeKernels,
  nativeKernelNames,
  nativeKernelsOfBackend,
  overrides,
  registerFastKernels,
  restore,
};

/** Puts every stock TensorFlow.js piece back (the wasm factory only if that backend has not started). */
export function unregisterFastKernels(): void {
  restore();
}

/**
 * Turns the native kernels on or off for wasm backends, sets their thread count, and whether 3×3 stride-1
 * convolutions use the Winograd form. Takes effect for kernels that run after the call.
 */
export function configureNativeKernels(options: {
  enabled?: boolean;
  threads?: number;
  winograd?: boolean;
}): void {
  const { enabled, threads, winograd } = options;
  apply(configChanges({ native: enabled, threads, winograd }));
}

/** The wasm kernels installed whatever the configuration, and why (rows of the override table). */
export const wasmTrainingKernels: ReadonlyArray<{ config: tf.KernelConfig; reason: string }> = overrides
  .filter((entry) => entry.kind === 'kernel' && entry.backend === 'wasm' && entry.when.startsWith('always'))
  .map((entry) => ({ config: entry.ours(activeConfig()) as tf.KernelConfig, reason: entry.why }));

/** Loads @tensorflow/tfjs-backend-wasm and installs the override table's wasm entries (idempotent). */
export function registerWasmTrainingKernels(): void {
  apply({}, { loadWasm: true });
}

/** Whether 3×3 stride-1 convolutions take the Winograd form now. */
export function winogradEnabledNow(): boolean {
  return activeConfig().winograd;
}
