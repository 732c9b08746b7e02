// @resnet/backend: picks and initialises a TensorFlow.js backend for the other packages, registers the
// gradients that tfjs-core's CommonJS build leaves out, and gives the embedded wasm backend the kernels
// training a convolutional network needs (the override table of ./overrides/table.ts). The knobs only the
// benchmarks and tests use are in './internals.ts' (@resnet/backend/internals).
import './gradients.js';
import { registerFileHandlers } from './node/file-io.js';

// Node entry: model.save('file://…') and tf.loadLayersModel('file://…') without tfjs-node.
registerFileHandlers();

export {
  type BackendChoice,
  type BackendName,
  type BackendSpec,
  type BackendStatus,
  backendSpecs,
  listBackends,
  resolveAutoBackend,
} from './backends.js';
export { type BackendInfo, type InitBackendOptions, initBackend } from './init.js';
export type { FastKernelsInfo, FastKernelsOptions } from './internals.js';
export { type BatchMoments, batchNormTraining } from './ops/batch-norm/training.js';
export { describeOverrides, type OverrideRow } from './overrides/apply.js';
export {
  disposeWebgpu,
  probeWebgpu,
  type WebgpuAdapter,
  type WebgpuProbe,
} from './webgpu/index.js';
