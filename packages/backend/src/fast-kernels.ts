// The switches of the faster kernels as initBackend takes them (`fast`), and registerFastKernels, which applies
// them through the override table (./overrides/): shared by the Node entry, the browser entry and
// @resnet/backend/internals.
import * as tf from '@tensorflow/tfjs-core';
import { apply, type ConfigChanges, describeOverrides } from './overrides/apply.js';
import type { BackendConfig } from './runtime/config.js';
import { runtime } from './runtime/platform.js';

/** Options of {@link registerFastKernels}; an option left out keeps what an earlier call chose. */
export interface FastKernelsOptions {
  /**
   * wasm only: threads of the native kernels' pool (XNNPACK then runs on one), or of XNNPACK without the native
   * kernels. Default: every logical core, at most 8. XNNPACK's count takes effect only if the wasm backend is
   * not initialised yet; the native pool's for the kernels that run after the call.
   */
  threads?: number;
  /** The closed-form batch-normalisation gradient and training kernels. Default true. */
  batchNorm?: boolean;
  /**
   * Standard BatchNormalization layers take the closed-form training call: patches tfjs-layers'
   * `BatchNormalization.prototype.call` (listed in the override table). Default true; false leaves the class
   * untouched (the layer then trains through tfjs's own ops and the FusedBatchNorm gradient above).
   */
  batchNormLayer?: boolean;
  /** wasm only: clones (tensors saved for gradients) share data instead of copying it. Default true. */
  sharedIdentity?: boolean;
  /**
   * wasm only: @resnet/backend's own SIMD kernels (native/*.c) on the threaded build's memory, on every
   * thread. Default true. Off, with threads 1, tfjs's own single-threaded build is loaded, as shipped.
   */
  native?: boolean;
  /** wasm, native: 3×3 stride-1 convolutions of 32+ input channels in Winograd's form. Default true. */
  winograd?: boolean;
}

/** What is in effect after {@link registerFastKernels}. */
export interface FastKernelsInfo {
  backend: string;
  /** wasm: threads of the native pool (or of XNNPACK without the native kernels); null for other backends. */
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

/** The configuration changes an options object asks for (undefined fields are left out). */
export function configChanges(options: FastKernelsOptions): ConfigChanges {
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) changes[key] = value;
  return changes as ConfigChanges;
}

/** What `config` means for `backendName`, as {@link FastKernelsInfo}. */
export function fastKernelsInfo(backendName: string, config: BackendConfig): FastKernelsInfo {
  const wasm = backendName === 'wasm';
  const layer = describeOverrides().find((row) => row.kind === 'layer');
  // Once started, the wasm backend keeps the XNNPACK thread count it was built with.
  const xnnpack =
    tf.engine().registry['wasm'] !== undefined ? (runtime().threadedWasmThreads() ?? 1) : config.threads;
  return {
    backend: backendName,
    threads: wasm ? (config.native ? config.threads : xnnpack) : null,
    batchNorm: config.batchNorm,
    batchNormLayer: layer?.installed ?? false,
    sharedIdentity: wasm ? config.sharedIdentity : null,
    native: wasm ? config.native : null,
  };
}

/**
 * Applies the faster kernels' configuration for `backendName` ('wasm', 'cpu' or 'tensorflow'); for wasm,
 * loads @tensorflow/tfjs-backend-wasm first. Call it before `tf.setBackend('wasm')` to choose XNNPACK's
 * thread count. Idempotent.
 */
export function registerFastKernels(backendName: string, options: FastKernelsOptions = {}): FastKernelsInfo {
  const config = apply(configChanges(options), { loadWasm: backendName === 'wasm' });
  return fastKernelsInfo(backendName, config);
}
