// What the Node entry (./index.ts) and the browser entry (./browser.ts) both export, from modules that import
// nothing of Node's: one list, so that the two entries cannot drift apart. Each entry adds its own
// initBackend, listBackends, resolveAutoBackend and backendSpecs (the backends its runtime can offer).
export type { BackendChoice, BackendName, BackendSpec, BackendStatus } from './backends.js';
export type { FastKernelsInfo, FastKernelsOptions } from './fast-kernels.js';
export type { BackendInfo, InitBackendOptions, WasmPaths } from './init.js';
export { type BatchMoments, batchNormTraining } from './ops/batch-norm/training.js';
export { describeOverrides, type OverrideRow } from './overrides/apply.js';
export {
  disposeWebgpu,
  probeWebgpu,
  type WebgpuAdapter,
  type WebgpuProbe,
} from './webgpu/index.js';
