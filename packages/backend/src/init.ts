// initBackend: loads the chosen TensorFlow.js backend package, makes it the active backend, and (for wasm)
// registers the kernels training needs.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import {
  type BackendChoice,
  type BackendName,
  type BackendSpec,
  type BackendStatus,
  backendSpecs,
  listBackends,
  packageVersion,
  resolveAutoBackend,
  resolvePackage,
  tensorflowInstallHelp,
  webgpuInstallHelp,
} from './backends.js';
import { type FastKernelsInfo, type FastKernelsOptions, registerFastKernels } from './internals.js';
import { loadWebgpuBackend, type WebgpuAdapter } from './webgpu/index.js';

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Which backend to use; `'auto'` (the default) takes the fastest one usable here (see `listBackends`). */
  backend?: BackendChoice;
  /**
   * The faster kernels on the wasm and cpu backends (the override table: closed-form batch-normalisation
   * gradient, threaded wasm with native SIMD kernels, copy-free clones), which compute the same values as
   * tfjs's own. Default: on, with their defaults; an option left out keeps what an earlier call chose;
   * `false` keeps stock TensorFlow.js (plus the wasm kernels training needs). Ignored on the tensorflow
   * backends, whose native kernels are already fused. On webgpu only the closed-form batch-normalisation
   * gradient applies (written with tfjs ops, so it runs tfjs-backend-webgpu's shaders: a ResNet-20 training
   * step dispatches 1,592 kernels with it, 2,162 without).
   */
  fast?: FastKernelsOptions | false;
}

/** What {@link initBackend} chose. */
export interface BackendInfo {
  /** The backend now active in TensorFlow.js. */
  name: BackendName;
  /** What was asked for. */
  requested: BackendChoice;
  /** The npm package that provides it. */
  package: string;
  /** Whether kernels run on a GPU. */
  gpu: boolean;
  /** Versions of the TensorFlow.js packages in use, by package name. */
  versions: Record<string, string>;
  /**
   * wasm only: the threads its kernels run on. Stock tfjs-backend-wasm runs one thread in Node.js; with the
   * fast kernels (the default) the native kernels run on every core (at most 8), XNNPACK on one.
   */
  threads?: number;
  /** The faster kernels in effect (see `InitBackendOptions.fast`); absent when they are off. */
  fast?: FastKernelsInfo;
  /** webgpu only: the adapter it runs on. */
  adapter?: WebgpuAdapter;
}

/** `fast: false`: every switch of the override table off, XNNPACK on one thread (tfjs's own in Node). */
const stockOptions: FastKernelsOptions = {
  threads: 1,
  batchNorm: false,
  batchNormLayer: false,
  sharedIdentity: false,
  native: false,
  winograd: false,
};

const choices: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** The spec to load for an explicit (non-'auto') choice, or an error saying how to install it. */
function pickExplicit(name: BackendName, statuses: BackendStatus[]): BackendStatus {
  const candidates = statuses.filter((status) => status.name === name);
  const usable = candidates.find((status) => status.usable);
  if (usable !== undefined) return usable;
  // tfjs-node-gpu without a visible GPU still runs (on the CPU): better than refusing an explicit request.
  const installedGpu = candidates.find(
    (status) => status.gpu && status.installed && status.detail.startsWith('native'),
  );
  if (installedGpu !== undefined) return { ...installedGpu, gpu: false };
  if (name === 'tensorflow') {
    const reasons = candidates.map((status) => `  ${status.package}: ${status.detail}`).join('\n');
    throw new Error(
      `@resnet/backend: the 'tensorflow' backend is not available here.\n${reasons}\n` +
        `${tensorflowInstallHelp('@tensorflow/tfjs-node-gpu')}\n` +
        `For the CPU-only build use @tensorflow/tfjs-node instead (steps 1 and 2).\n` +
        `Or use the embedded backend, which needs no install: initBackend({ backend: 'wasm' }).`,
    );
  }
  const status = candidates[0]!;
  if (name === 'webgpu') {
    throw new Error(
      `@resnet/backend: the 'webgpu' backend is not available here: ${status.detail}\n` +
        `To use it: ${webgpuInstallHelp()}, and a GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows).\n` +
        `Or use the embedded backend, which needs no install: initBackend({ backend: 'wasm' }).`,
    );
  }
  throw new Error(`@resnet/backend: the '${name}' backend is not usable: ${status.detail}`);
}

/** Loads a backend's package, which registers the backend with TensorFlow.js; webgpu says its adapter. */
async function loadBackendPackage(spec: BackendSpec): Promise<WebgpuAdapter | undefined> {
  if (spec.name === 'tensorflow') {
    // TensorFlow otherwise reserves nearly all GPU memory at start; growth lets other processes share the GPU.
    // It must be set before the native addon loads, and a user's own setting wins.
    if (spec.gpu && process.env['TF_FORCE_GPU_ALLOW_GROWTH'] === undefined) {
      process.env['TF_FORCE_GPU_ALLOW_GROWTH'] = 'true';
    }
    const resolved = resolvePackage(spec.package);
    if (resolved === undefined) throw new Error(`@resnet/backend: ${spec.package} is not installed`);
    // tfjs-node is CommonJS and registers the 'tensorflow' backend as it loads.
    createRequire(resolved)(resolved);
    return undefined;
  }
  if (spec.name === 'webgpu') return loadWebgpuBackend();
  if (spec.name === 'wasm') {
    // The override table's wasm entries are installed by registerFastKernels below, after this import (importing
    // tfjs-backend-wasm registers its own kernels over any registered before).
    await import('@tensorflow/tfjs-backend-wasm');
    return;
  }
  await import('@tensorflow/tfjs-backend-cpu');
  return undefined;
}

/**
 * The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js…" on its first write,
 * through tfjs's `warn`, which stays quiet while the IS_TEST flag is on. One write made with the flag on
 * for that moment uses up the banner; the flag is restored at once. Nothing else is silenced.
 */
function consumeCpuBanner(): void {
  const env = tf.env();
  const wasTest = env.getBool('IS_TEST');
  env.set('IS_TEST', true);
  try {
    tf.scalar(0).dispose();
  } finally {
    env.set('IS_TEST', wasTest);
  }
}

async function threadsOf(name: BackendName): Promise<number | undefined> {
  if (name !== 'wasm') return undefined;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}

// Calls are queued so that two concurrent initBackend calls cannot interleave loading and setBackend.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Initialises TensorFlow.js on the requested backend and says what was chosen. 'auto' takes, in order:
 * @tensorflow/tfjs-node-gpu if installed and a GPU is visible, webgpu if installed with a hardware adapter
 * (never a software one: ask for it by name), @tensorflow/tfjs-node if installed, wasm
 * (with this package's training kernels), cpu. Asking for a backend that is not installed throws an error
 * that says how to install it. Safe to call more than once, and concurrently.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const run = queue.then(() => initBackendNow(options));
  queue = run.catch(() => undefined);
  return run;
}

async function initBackendNow(options: InitBackendOptions): Promise<BackendInfo> {
  const requested = options.backend ?? 'auto';
  if (!choices.includes(requested)) {
    throw new Error(
      `@resnet/backend: unknown backend '${String(requested)}'; expected one of ${choices.map((c) => `'${c}'`).join(', ')}`,
    );
  }
  const status =
    requested === 'auto' ? await resolveAutoBackend() : pickExplicit(requested, await listBackends());
  const spec = backendSpecs.find((candidate) => candidate.package === status.package)!;
  const adapter = await loadBackendPackage(spec);
  // Before setBackend: the wasm thread count can only be chosen before the wasm backend starts.
  // fast: false installs only the wasm kernels training needs at all (the override table's 'always' rows).
  let fast: FastKernelsInfo | undefined;
  if (spec.name !== 'tensorflow') {
    if (options.fast === false) registerFastKernels(spec.name, stockOptions);
    else fast = registerFastKernels(spec.name, options.fast ?? {});
  }
  if (tf.findBackendFactory(spec.name) == null) {
    throw new Error(`@resnet/backend: loading ${spec.package} did not register the '${spec.name}' backend`);
  }
  if (!(await tf.setBackend(spec.name))) {
    throw new Error(
      `@resnet/backend: TensorFlow.js could not initialise the '${spec.name}' backend (${spec.package})`,
    );
  }
  await tf.ready();
  if (spec.name === 'cpu') consumeCpuBanner();
  const versions: Record<string, string> = { '@tensorflow/tfjs-core': tf.version_core };
  const version = packageVersion(spec.package);
  if (version !== undefined) versions[spec.package] = version;
  const threads = fast?.native ? (fast.threads ?? undefined) : await threadsOf(spec.name);
  return {
    name: spec.name,
    requested,
    package: spec.package,
    gpu: status.gpu,
    versions,
    ...(threads === undefined ? {} : { threads }),
    ...(fast === undefined ? {} : { fast }),
    ...(adapter === undefined ? {} : { adapter }),
  };
}
