// @resnet/backend: picks and initialises a TensorFlow.js backend for the other packages, registers the
// gradients that tfjs-core's CommonJS build leaves out, and gives the embedded wasm backend the kernels
// training a convolutional network needs.
import './gradients.js';

export {
  type BackendChoice,
  type BackendName,
  type BackendSpec,
  type BackendStatus,
  backendSpecs,
  listBackends,
  resolveAutoBackend,
} from './backends.js';
export {
  batchNormTraining,
  type FastKernelsInfo,
  type FastKernelsOptions,
  registerFastKernels,
  unregisterFastKernels,
  useThreadedWasm,
} from './fast/index.js';
export { type BackendInfo, type InitBackendOptions, initBackend } from './init.js';
export { configureNativeKernels } from './native/index.js';
export { registerWasmTrainingKernels, wasmTrainingKernels } from './wasm/register.js';
export {
  disposeWebgpu,
  probeWebgpu,
  type WebgpuAdapter,
  type WebgpuProbe,
} from './webgpu/index.js';
