// The TensorFlow.js backends @resnet/backend knows, in the order 'auto' prefers them, what is known about each
// one here, and the choices made from that which every runtime shares ('auto's pick, webgpu's status from its
// adapter). How each runtime tells what is installed and usable: ./node/backends.ts (packages on disk, a GPU,
// Dawn) and ./browser/backends.ts (what the page has).
import type { WebgpuAdapter, WebgpuProbe } from './webgpu/index.js';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

/** One backend this package can initialise: the TensorFlow.js backend name and the npm package behind it. */
export interface BackendSpec {
  /** The name TensorFlow.js registers the backend under. */
  name: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Whether its kernels run on a GPU. */
  gpu: boolean;
  /** Where it runs. */
  where: string;
}

/** The backends in the order 'auto' prefers them. */
export const backendSpecs: readonly BackendSpec[] = [
  {
    name: 'tensorflow',
    package: '@tensorflow/tfjs-node-gpu',
    gpu: true,
    where: 'Linux x86-64 + NVIDIA GPU, CUDA 11.2 + cuDNN 8.1 (libtensorflow 2.9.1)',
  },
  {
    name: 'webgpu',
    package: '@tensorflow/tfjs-backend-webgpu',
    gpu: true,
    where: "any GPU with Vulkan, Metal or D3D12 (Node.js: Dawn's webgpu package; browsers: their WebGPU)",
  },
  {
    name: 'tensorflow',
    package: '@tensorflow/tfjs-node',
    gpu: false,
    where: 'Linux, macOS, Windows (libtensorflow)',
  },
  {
    name: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    gpu: false,
    where: 'anywhere (WebAssembly + XNNPACK)',
  },
  { name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', gpu: false, where: 'anywhere (plain JavaScript)' },
];

/** What {@link listBackends} says about one backend. */
export interface BackendStatus {
  name: BackendName;
  package: string;
  /** The package resolves from @resnet/backend or from the current directory. */
  installed: boolean;
  /** Installed and able to run here (native addon built, GPU visible, wasm binaries present). */
  usable: boolean;
  gpu: boolean;
  /** Why it is or is not usable, in words. */
  detail: string;
  /** webgpu only: the adapter it would run on (absent when there is none). */
  adapter?: WebgpuAdapter;
}

/**
 * webgpu's status from a probe of its adapter: usable with an adapter; `gpu` false on a software one, which
 * `auto` never takes (slower than the CPU backends).
 */
export function webgpuStatus(spec: BackendSpec, probe: WebgpuProbe): BackendStatus {
  const base = { name: spec.name, package: spec.package, gpu: spec.gpu };
  if (!probe.ok) {
    return { ...base, installed: probe.missing !== 'package', usable: false, detail: probe.reason };
  }
  const { adapter } = probe;
  const name = adapter.description || [adapter.vendor, adapter.architecture, adapter.device].join(' ');
  if (adapter.software) {
    return {
      ...base,
      gpu: false,
      installed: true,
      usable: true,
      adapter,
      detail: `software adapter (${name}): never chosen by auto, used when asked for (backend: 'webgpu')`,
    };
  }
  return { ...base, installed: true, usable: true, adapter, detail: `adapter: ${name}` };
}

/** What 'auto' takes from `statuses` (in preference order): the first usable one, webgpu on a hardware adapter only. */
export function pickAuto(statuses: readonly BackendStatus[], installHint: string): BackendStatus {
  // A software WebGPU adapter is slower than the CPU backends: auto takes webgpu on a hardware adapter only.
  const pick = statuses.find((status) => status.usable && (status.name !== 'webgpu' || status.gpu));
  if (pick === undefined) {
    throw new Error(`@resnet/backend: no TensorFlow.js backend is usable; ${installHint}`);
  }
  return pick;
}
