// What @resnet/backend changes in TensorFlow.js, and why: one entry per piece replaced or added (a kernel, a
// gradient, a layer method, the wasm backend factory), with the backend it applies to, the switch of the
// configuration (../runtime/config.ts) that turns it on, and the measured reason. ./apply.ts installs and
// restores these entries and nothing else installs anything; `pnpm --filter bench start -- backends
// --verbose` prints this table. A new backend (webgpu) adds its entries here, beside the wasm ones.
// In browsers (the portable runtime of ../runtime/platform.ts) the threaded factory and the native paths do not
// exist (they need Node's fs and worker_threads): the rows switched by `native` or `threads` never apply
// there, and the 'always' rows run their stock or JavaScript paths.
import * as tf from '@tensorflow/tfjs-core';
import { addConfig } from '../ops/add/wasm.js';
import { fusedBatchNormConfig } from '../ops/batch-norm/inference-wasm.js';
import { batchNormKernelConfigs } from '../ops/batch-norm/kernels.js';
import {
  batchNormalizationPrototype,
  type CallMethod,
  fastBatchNormalizationCall,
} from '../ops/batch-norm/layer.js';
import { fusedBatchNormGradConfig } from '../ops/batch-norm/training.js';
import { conv2DConfig, fusedConv2DConfig } from '../ops/conv2d/wasm.js';
import { conv2DBackpropFilterConfig } from '../ops/conv2d-backprop-filter/wasm.js';
import { conv2DBackpropInputConfig } from '../ops/conv2d-backprop-input/wasm.js';
import { wasmSharedIdentityConfig } from '../ops/identity/wasm.js';
import { maxPoolGradConfig } from '../ops/max-pool-grad/wasm.js';
import { reluGradConfig, reluGradKernelConfig } from '../ops/relu/gradient.js';
import { reluConfig } from '../ops/relu/wasm.js';
import type { BackendConfig } from '../runtime/config.js';
import { runtime } from '../runtime/platform.js';
import {
  type BackendFactory,
  setWasmBackendFactory,
  wasmBackendFactory,
  wasmInitialised,
} from '../runtime/wasm-factory.js';
import { kernelKey, stockPiece } from './stock.js';

/** What an entry replaces: a backend's kernel, an op's gradient, a layer's method, a backend factory. */
export type OverrideKind = 'kernel' | 'gradient' | 'layer' | 'backend';

/** Where a piece lives, read and written the same way for every entry of a kind. */
export interface Slot {
  /** Key of the piece in the stock store (../overrides/stock.ts). */
  readonly key: string;
  /** The piece there now (undefined: none). */
  read(): unknown;
  /** Puts `piece` there (undefined: removes what is there). */
  write(piece: unknown): void;
  /** Whether two pieces are the same (ours is in place). */
  same(a: unknown, b: unknown): boolean;
  /** Whether the slot exists here now (its package is loaded, the backend not yet started...). */
  available(): boolean;
}

/** One row of the table. */
export interface Override {
  /** The op, kernel, layer method or factory replaced (or added, where TensorFlow.js has none). */
  readonly target: string;
  readonly kind: OverrideKind;
  /** The TensorFlow.js backend it applies to ('any': every backend). */
  readonly backend: 'wasm' | 'cpu' | 'any';
  /** When it is installed, in words (the configuration switch). */
  readonly when: string;
  /** Why, with the measured gain. */
  readonly why: string;
  /** Whether it is installed under `config`. */
  applies(config: BackendConfig): boolean;
  /** Our piece under `config`. */
  ours(config: BackendConfig): unknown;
  readonly slot: Slot;
}

function wasmLoaded(): boolean {
  return tf.findBackendFactory('wasm') != null || tf.getKernel('Conv2D', 'wasm') !== undefined;
}

function kernelSlot(kernelName: string, backendName: 'wasm' | 'cpu'): Slot {
  return {
    key: kernelKey(kernelName, backendName),
    read: () => tf.getKernel(kernelName, backendName),
    write: (piece) => {
      if (tf.getKernel(kernelName, backendName) !== undefined) tf.unregisterKernel(kernelName, backendName);
      if (piece === undefined) return;
      const config = piece as tf.KernelConfig;
      tf.registerKernel(config);
      // A backend runs its kernels' setup when it initialises; one written later is set up here.
      const live = tf.engine().registry[backendName];
      if (live !== undefined) config.setupFunc?.(live);
    },
    same: (a, b) =>
      (a as tf.KernelConfig | undefined)?.kernelFunc === (b as tf.KernelConfig | undefined)?.kernelFunc,
    // A wasm kernel is written only once tfjs-backend-wasm is loaded: loading it registers its own kernels
    // over whatever is there, so ours go in after it, whatever order the user imports things in.
    available: () => backendName !== 'wasm' || wasmLoaded(),
  };
}

function gradientSlot(kernelName: string): Slot {
  return {
    key: `gradient ${kernelName}`,
    read: () => tf.getGradient(kernelName),
    write: (piece) => {
      if (piece === undefined) tf.unregisterGradient(kernelName);
      else tf.registerGradient(piece as tf.GradConfig);
    },
    same: (a, b) => (a as tf.GradConfig | undefined)?.gradFunc === (b as tf.GradConfig | undefined)?.gradFunc,
    available: () => true,
  };
}

const layerCallSlot: Slot = {
  key: 'layer BatchNormalization.prototype.call',
  read: () => batchNormalizationPrototype()?.call,
  write: (piece) => {
    const prototype = batchNormalizationPrototype();
    if (prototype !== undefined && piece !== undefined) prototype.call = piece as CallMethod;
  },
  same: (a, b) => a === b,
  available: () => batchNormalizationPrototype() !== undefined,
};

const wasmFactorySlot: Slot = {
  key: "backend factory 'wasm'",
  read: wasmBackendFactory,
  write: (piece) => setWasmBackendFactory(piece as BackendFactory | undefined),
  same: (a, b) => (a as BackendFactory | undefined)?.factory === (b as BackendFactory | undefined)?.factory,
  // Once the wasm backend has started it keeps the build it loaded: swapping would lose its tensors.
  available: () => wasmLoaded() && !wasmInitialised(),
};

let fastCall: CallMethod | undefined;

/** Our BatchNormalization call, built once around the stock method. */
function ourBatchNormalizationCall(): CallMethod | undefined {
  const original = stockPiece(layerCallSlot.key) as CallMethod | undefined;
  if (original === undefined) return undefined;
  fastCall ??= fastBatchNormalizationCall(original);
  return fastCall;
}

const always = () => true;

/** The wasm kernels installed whatever the configuration (tfjs-backend-wasm cannot train without them). */
function wasmKernel(config: tf.KernelConfig, when: string, why: string): Override {
  return {
    target: config.kernelName,
    kind: 'kernel',
    backend: 'wasm',
    when,
    why,
    applies: always,
    ours: () => config,
    slot: kernelSlot(config.kernelName, 'wasm'),
  };
}

const [bnTrainingWasm, bnTrainingGradWasm] = batchNormKernelConfigs('wasm') as [
  tf.KernelConfig,
  tf.KernelConfig,
];
const [bnTrainingCpu, bnTrainingGradCpu] = batchNormKernelConfigs('cpu') as [
  tf.KernelConfig,
  tf.KernelConfig,
];

function batchNormKernel(config: tf.KernelConfig, backend: 'wasm' | 'cpu', why: string): Override {
  return {
    target: `${config.kernelName} (added)`,
    kind: 'kernel',
    backend,
    when: 'batchNorm',
    why,
    applies: (c) => c.batchNorm,
    ours: () => config,
    slot: kernelSlot(config.kernelName, backend),
  };
}

/** Every override, in the order apply() installs them. */
export const overrides: readonly Override[] = [
  {
    target: "'wasm' backend factory",
    kind: 'backend',
    backend: 'wasm',
    when: 'native, or threads > 1 (before the wasm backend starts)',
    why:
      'loads the threaded SIMD build tfjs-backend-wasm ships but never uses in Node (tfjs issue #3830): the ' +
      'native kernels need its shared memory; XNNPACK on 1 thread with native (6% and 19% faster ResNet-110 ' +
      'steps on 2 cores than XNNPACK on 2 as well), on `threads` without',
    // Only where the runtime has the threaded build (Node.js); browsers keep tfjs's own factory.
    applies: (c) => (c.native || c.threads > 1) && runtime().threadedWasm,
    ours: (c) => runtime().threadedWasmFactory(c.native ? 1 : c.threads),
    slot: wasmFactorySlot,
  },
  wasmKernel(
    conv2DBackpropFilterConfig,
    'always (native path: native)',
    'missing from tfjs-backend-wasm 4.22; without it no convolutional network can train. Native: about ' +
      "XNNPACK's forward speed, 3× the forms built on stock kernels",
  ),
  wasmKernel(
    conv2DBackpropInputConfig,
    'always (native path: native)',
    "the stock kernel is a direct loop about 10× slower than XNNPACK's forward Conv2D",
  ),
  wasmKernel(
    conv2DConfig,
    'always; native path: native (Winograd: winograd)',
    "native SIMD: 1.2–1.4× XNNPACK's speed, 1.5–2.5× in Winograd form for 3×3 stride-1 layers of 32+ " +
      'channels; pads or crops as it reads, which the input gradient needs; stock otherwise',
  ),
  wasmKernel(
    fusedConv2DConfig,
    'always; native path: native',
    'as Conv2D, for convolutions without bias or activation (tfjs-layers calls this one)',
  ),
  wasmKernel(reluConfig, 'always; native path: native', 'native: one pass on every thread; stock otherwise'),
  wasmKernel(
    addConfig,
    'always; native path: native',
    'native: one pass on every thread for two float32 tensors of one shape; stock otherwise',
  ),
  wasmKernel(
    fusedBatchNormConfig,
    'always; native path: native',
    'native (inference): x·a + b per channel on every thread, about 10× the stock kernel; stock otherwise',
  ),
  wasmKernel(
    maxPoolGradConfig,
    'always',
    'the stock kernel gives wrong gradients for some inputs with negative values',
  ),
  {
    target: 'Identity',
    kind: 'kernel',
    backend: 'wasm',
    when: 'sharedIdentity',
    why: 'tfjs clones every tensor saved for a gradient; the stock kernel copies it, ours shares the data (as cpu does)',
    applies: (c) => c.sharedIdentity,
    ours: () => wasmSharedIdentityConfig,
    slot: kernelSlot('Identity', 'wasm'),
  },
  {
    target: `${reluGradKernelConfig.kernelName} (added)`,
    kind: 'kernel',
    backend: 'wasm',
    when: 'native',
    why: 'the Relu gradient in one pass on every thread, for the Relu gradient below',
    applies: (c) => c.native,
    ours: () => reluGradKernelConfig,
    slot: kernelSlot(reluGradKernelConfig.kernelName, 'wasm'),
  },
  {
    target: 'Relu',
    kind: 'gradient',
    backend: 'any',
    when: 'native',
    why: 'on wasm with the native kernels, one kernel where tfjs runs three and makes two temporaries the size of the activation; elsewhere tfjs’s formula',
    applies: (c) => c.native,
    ours: () => reluGradConfig,
    slot: gradientSlot(tf.Relu),
  },
  batchNormKernel(
    bnTrainingWasm,
    'wasm',
    'training-mode batch norm in two passes (native: SIMD on every thread, about 7× the JavaScript loops)',
  ),
  batchNormKernel(bnTrainingGradWasm, 'wasm', 'its closed-form gradient in two passes'),
  batchNormKernel(bnTrainingCpu, 'cpu', 'training-mode batch norm in two passes where tfjs takes five'),
  batchNormKernel(bnTrainingGradCpu, 'cpu', 'its closed-form gradient in two passes where tfjs takes eight'),
  {
    target: 'FusedBatchNorm',
    kind: 'gradient',
    backend: 'any',
    when: 'batchNorm',
    why: 'the same gradient without materialising 1/σ at the size of x with Tile (28% of a ResNet step on wasm)',
    applies: (c) => c.batchNorm,
    ours: () => fusedBatchNormGradConfig,
    slot: gradientSlot(tf.FusedBatchNorm),
  },
  {
    target: 'BatchNormalization.prototype.call (tfjs-layers)',
    kind: 'layer',
    backend: 'any',
    when: 'batchNorm and batchNormLayer',
    why:
      'training-mode calls of standard BatchNormalization layers take the closed-form kernels above; the layer, ' +
      'its weights and its saved form stay tfjs-layers’ own (set batchNormLayer: false to leave the class untouched)',
    applies: (c) => c.batchNorm && c.batchNormLayer,
    ours: () => ourBatchNormalizationCall(),
    slot: layerCallSlot,
  },
];
