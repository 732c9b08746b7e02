// Faster training on the CPU backends without changing what is computed: a closed-form batch-normalisation
// gradient (for the FusedBatchNorm kernel and for the training call of standard BatchNormalization layers)
// and, on wasm, the threaded XNNPACK build with every core. See ./batch-norm.ts and ./threaded-wasm.ts.

import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { configureNativeKernels } from '../native/index.js';
import { fusedBatchNormGradConfig } from './batch-norm.js';
import { registerBatchNormKernels } from './batch-norm-kernels.js';
import {
  batchNormalizationLayerPatched,
  patchBatchNormalizationLayer,
  unpatchBatchNormalizationLayer,
} from './batch-norm-layer.js';
import { registerReluGrad, unregisterReluGrad } from './relu-grad.js';
import { defaultWasmThreads, threadedWasmInfo, useStockWasm, useThreadedWasm } from './threaded-wasm.js';
import { registerWasmSharedIdentity, unregisterWasmSharedIdentity } from './wasm-identity.js';

const require = createRequire(import.meta.url);

export { type BatchMoments, batchNormTraining } from './batch-norm.js';
export {
  BatchNormTrainingGradKernel,
  BatchNormTrainingKernel,
  hasBatchNormKernels,
  registerBatchNormKernels,
} from './batch-norm-kernels.js';
export { ReluGradKernel, reluGradConfig } from './relu-grad.js';
export {
  defaultWasmThreads,
  type ThreadedWasmInfo,
  threadedWasmInfo,
  useStockWasm,
  useThreadedWasm,
} from './threaded-wasm.js';

/** Options of {@link registerFastKernels}; an option left out keeps what an earlier call chose. */
export interface FastKernelsOptions {
  /**
   * wasm only: threads of the native kernels' pool (XNNPACK then runs on one), or of XNNPACK without the native
   * kernels. Default: every logical core, at most 8. Takes effect only if the wasm backend is not initialised
   * yet.
   */
  threads?: number;
  /** The closed-form batch-normalisation gradient. Default true. */
  batchNorm?: boolean;
  /** wasm only: clones (tensors saved for gradients) share data instead of copying it. Default true. */
  sharedIdentity?: boolean;
  /**
   * wasm only: @resnet/backend's own SIMD kernels (native/kernels.c) for the convolution filter gradient and
   * batch normalisation, run in the threaded build's memory on every thread. Default true. Off, with
   * threads 1, tfjs's own single-threaded build is loaded, as shipped.
   */
  native?: boolean;
}

/** What is in effect after {@link registerFastKernels}. */
export interface FastKernelsInfo {
  backend: string;
  /**
   * wasm: threads the next (or current) wasm backend's kernels run on (the native pool's, or XNNPACK's without
   * the native kernels); null for other backends.
   */
  threads: number | null;
  /** Whether the closed-form FusedBatchNorm gradient is registered. */
  batchNorm: boolean;
  /** Whether BatchNormalization layers use the closed-form training call (false without tfjs-layers). */
  batchNormLayer: boolean;
  /** wasm only: whether Identity shares data; null for other backends. */
  sharedIdentity: boolean | null;
  /** wasm only: whether the native kernels are on; null for other backends. */
  native: boolean | null;
}

let stockFusedBatchNormGrad: tf.GradConfig | undefined;
let chosenThreads: number | undefined;
let chosenBatchNorm: boolean | undefined;
let chosenSharedIdentity: boolean | undefined;
let chosenNative: boolean | undefined;

function setBatchNorm(enabled: boolean): void {
  if (enabled) {
    if (stockFusedBatchNormGrad === undefined) stockFusedBatchNormGrad = tf.getGradient(tf.FusedBatchNorm);
    tf.registerGradient(fusedBatchNormGradConfig);
    patchBatchNormalizationLayer();
  } else {
    if (stockFusedBatchNormGrad !== undefined) tf.registerGradient(stockFusedBatchNormGrad);
    unpatchBatchNormalizationLayer();
  }
  chosenBatchNorm = enabled;
}

function wasmInitialised(): boolean {
  return tf.engine().registry['wasm'] !== undefined;
}

function setWasmThreads(threads: number, native: boolean): void {
  // Once initialised, the backend keeps the build it loaded: report what it runs with.
  if (wasmInitialised()) {
    chosenThreads ??= threadedWasmInfo()?.threads ?? 1;
    return;
  }
  if (native) {
    // The threaded build, for its shared memory (the native kernels run inside it), with XNNPACK on one
    // thread: the native pool takes the threads. XNNPACK's idle workers spin for a while after each of its
    // operators, and on a small machine they then compete with the native pool's; what is left to XNNPACK
    // in a ResNet (the classifier's matrix product, convolutions with output channels not a multiple of 4)
    // is small. Measured on 2 cores, ResNet-110 training: 6% and 19% faster (two paired runs) than with
    // XNNPACK on 2 threads as well.
    useThreadedWasm(1);
    configureNativeKernels({ threads });
  } else if (threads > 1) useThreadedWasm(threads);
  else useStockWasm();
  chosenThreads = threads;
}

/**
 * Registers the faster kernels and gradients for `backendName` ('wasm', 'cpu' or 'tensorflow'). Call it
 * before `tf.setBackend(backendName)` (initBackend does), after `@tensorflow/tfjs-backend-wasm` is imported:
 * the wasm thread count can only be chosen before the wasm backend initialises. Idempotent.
 */
export function registerFastKernels(backendName: string, options: FastKernelsOptions = {}): FastKernelsInfo {
  const batchNorm = options.batchNorm ?? chosenBatchNorm ?? true;
  if (batchNorm !== chosenBatchNorm) setBatchNorm(batchNorm);
  registerBatchNormKernels(backendName);
  let threads: number | null = null;
  let sharedIdentity: boolean | null = null;
  let native: boolean | null = null;
  if (backendName === 'wasm') {
    // Importing tfjs-backend-wasm registers its kernels over any registered before: load it first.
    require('@tensorflow/tfjs-backend-wasm');
    sharedIdentity = options.sharedIdentity ?? chosenSharedIdentity ?? true;
    if (sharedIdentity) registerWasmSharedIdentity();
    else unregisterWasmSharedIdentity();
    chosenSharedIdentity = sharedIdentity;
    native = options.native ?? chosenNative ?? true;
    configureNativeKernels({ enabled: native });
    if (native) registerReluGrad();
    else unregisterReluGrad();
    const wanted = options.threads ?? chosenThreads ?? defaultWasmThreads();
    if (wanted !== chosenThreads || native !== chosenNative) setWasmThreads(wanted, native);
    chosenNative = native;
    threads = chosenThreads ?? 1;
  }
  return {
    backend: backendName,
    threads,
    batchNorm,
    batchNormLayer: batchNormalizationLayerPatched(),
    sharedIdentity,
    native,
  };
}

/**
 * Restores tfjs's own batch-normalisation gradient and layer call, and (if the wasm backend has not been
 * initialised yet) tfjs's single-threaded wasm build.
 */
export function unregisterFastKernels(): void {
  if (chosenBatchNorm !== undefined) setBatchNorm(false);
  if (chosenThreads !== undefined && !wasmInitialised()) useStockWasm();
  unregisterWasmSharedIdentity();
  chosenBatchNorm = undefined;
  chosenThreads = undefined;
  chosenSharedIdentity = undefined;
  chosenNative = undefined;
  configureNativeKernels({ enabled: false });
  unregisterReluGrad();
}
