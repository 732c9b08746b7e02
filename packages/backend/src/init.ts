// initBackend: loads the chosen TensorFlow.js backend package, makes it the active backend, and (for wasm)
// registers the kernels training needs. The steps are the same in every runtime; what differs (which backends
// there are, how to tell they are usable, how a package is loaded) is the runtime's InitHost: ./node/host.ts
// for the Node entry, ./browser/host.ts for the browser entry.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, BackendName, BackendSpec, BackendStatus } from './backends.js';
import { type FastKernelsInfo, type FastKernelsOptions, registerFastKernels } from './fast-kernels.js';
import type { WebgpuAdapter } from './webgpu/index.js';

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
  /**
   * Browsers, wasm: where the page serves tfjs-backend-wasm's `.wasm` files (passed to its `setWasmPaths`): a
   * folder URL ending in `/`, or a URL per file name (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`,
   * `tfjs-backend-wasm-threaded-simd.wasm`). Copy them from `@tensorflow/tfjs-backend-wasm/dist/`. Left out,
   * tfjs looks for them next to the script. Ignored in Node.js, which reads them from the installed package.
   */
  wasmPaths?: WasmPaths;
}

/** Where tfjs-backend-wasm's `.wasm` files are served: a folder URL ending in `/`, or a URL per file. */
export type WasmPaths =
  | string
  | Partial<
      Record<
        'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm',
        string
      >
    >;

/** What a runtime gives {@link createInitBackend}. */
export interface InitHost {
  /** The backends this runtime has, in the order 'auto' prefers them. */
  readonly specs: readonly BackendSpec[];
  resolveAutoBackend(): Promise<BackendStatus>;
  listBackends(): Promise<BackendStatus[]>;
  /** The status to load for an explicit (non-'auto') choice; throws, saying how to install it, when there is none. */
  pickExplicit(name: BackendName, statuses: BackendStatus[]): BackendStatus;
  /** Checks `fast` for this runtime (and throws, saying why, for a switch it cannot honour). */
  checkFast(options: FastKernelsOptions): FastKernelsOptions;
  /** Loads a backend's package, which registers the backend with TensorFlow.js; webgpu says its adapter. */
  load(spec: BackendSpec, options: InitBackendOptions): Promise<WebgpuAdapter | undefined>;
  /** The version of an installed package, where it can be known. */
  packageVersion(packageName: string): string | undefined;
}

/** Every choice initBackend knows, in any runtime (a runtime's host refuses those it has not). */
const choices: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

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

/** `fast: false`: every switch of the override table off, XNNPACK on one thread (tfjs's own build). */
const stockOptions: FastKernelsOptions = {
  threads: 1,
  batchNorm: false,
  batchNormLayer: false,
  sharedIdentity: false,
  native: false,
  winograd: false,
};

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

/**
 * The initBackend of a runtime: initialises TensorFlow.js on the requested backend and says what was chosen.
 * Calls are queued, so that two concurrent calls cannot interleave loading and setBackend.
 */
export function createInitBackend(host: InitHost): (options?: InitBackendOptions) => Promise<BackendInfo> {
  let queue: Promise<unknown> = Promise.resolve();
  return (options = {}) => {
    const run = queue.then(() => initBackendNow(host, options));
    queue = run.catch(() => undefined);
    return run;
  };
}

async function initBackendNow(host: InitHost, options: InitBackendOptions): Promise<BackendInfo> {
  const requested = options.backend ?? 'auto';
  if (!choices.includes(requested)) {
    throw new Error(
      `@resnet/backend: unknown backend '${String(requested)}'; expected one of ${choices.map((c) => `'${c}'`).join(', ')}`,
    );
  }
  const status =
    requested === 'auto'
      ? await host.resolveAutoBackend()
      : host.pickExplicit(requested, await host.listBackends());
  const spec = host.specs.find((candidate) => candidate.package === status.package)!;
  const fastOptions = options.fast === false ? false : host.checkFast(options.fast ?? {});
  const adapter = await host.load(spec, options);
  // Before setBackend: the wasm thread count can only be chosen before the wasm backend starts.
  // fast: false installs only the wasm kernels training needs at all (the override table's 'always' rows).
  let fast: FastKernelsInfo | undefined;
  if (spec.name !== 'tensorflow') {
    if (fastOptions === false) registerFastKernels(spec.name, stockOptions);
    else fast = registerFastKernels(spec.name, fastOptions);
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
  const version = host.packageVersion(spec.package);
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
