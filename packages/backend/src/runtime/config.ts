// The one configuration of @resnet/backend's faster kernels: a frozen object, replaced (never mutated) by
// the override table's apply(). Every piece reads it from here: the override table (what is installed), the
// worker pool (its thread count), the ops (whether Winograd applies).
import { runtime } from './platform.js';

/** What the faster kernels do; see the README's "Overrides" table for what each switch installs. */
export interface BackendConfig {
  /** Threads of the native kernels' pool (XNNPACK then runs on one; 1–64), or of XNNPACK without them (1–8). */
  readonly threads: number;
  /** The closed-form batch-normalisation gradient (FusedBatchNorm gradient and the training kernels). */
  readonly batchNorm: boolean;
  /**
   * Standard tfjs-layers BatchNormalization layers take the closed-form training call (patches
   * `BatchNormalization.prototype.call`; needs `batchNorm`). Off: the layer is tfjs-layers' own, untouched.
   */
  readonly batchNormLayer: boolean;
  /** wasm: clones (tensors saved for gradients) share data instead of copying it. */
  readonly sharedIdentity: boolean;
  /** wasm: @resnet/backend's own SIMD kernels (native/*.c) on the threaded build's memory, on every thread. */
  readonly native: boolean;
  /** wasm, native: 3×3 stride-1 convolutions of 32+ channels take the Winograd form. */
  readonly winograd: boolean;
}

/**
 * Default pool size: every logical core, at most the 8 workers the threaded build pre-creates (1 where the
 * runtime has neither: browsers, see ./platform.ts).
 */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(8, runtime().logicalCores()));
}

/** The configuration initBackend applies by default: every faster kernel on. */
export function defaultConfig(): BackendConfig {
  return Object.freeze({
    threads: defaultWasmThreads(),
    batchNorm: true,
    batchNormLayer: true,
    sharedIdentity: true,
    native: true,
    winograd: true,
  });
}

/** Stock TensorFlow.js: nothing of ours installed (what restore() leaves). */
export const stockConfig: BackendConfig = Object.freeze({
  threads: 1,
  batchNorm: false,
  batchNormLayer: false,
  sharedIdentity: false,
  native: false,
  winograd: false,
});

let active: BackendConfig = stockConfig;

/** The configuration in effect. */
export function activeConfig(): BackendConfig {
  return active;
}

/** Checks `config` and makes it the one in effect (only the override table's apply() calls this). */
export function setActiveConfig(config: BackendConfig): BackendConfig {
  const { threads } = config;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new Error(`@resnet/backend: threads must be an integer from 1 to 64, got ${threads}`);
  }
  active = Object.freeze({ ...config });
  return active;
}
