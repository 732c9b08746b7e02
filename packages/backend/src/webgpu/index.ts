// The webgpu backend: TensorFlow.js's tfjs-backend-webgpu on Dawn (Node.js, the optional `webgpu` package) or
// the browser's WebGPU. ./gpu.ts finds the GPU and its adapter; ./backend.ts registers and disposes the backend.
export { disposeWebgpu, loadWebgpuBackend, webgpuAdapterInUse } from './backend.js';
export {
  describeAdapter,
  probeWebgpu,
  reportedLimits,
  type WebgpuAdapter,
  type WebgpuProbe,
  webgpuPackages,
} from './gpu.js';
