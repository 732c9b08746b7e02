// The browser entry's InitHost (../init.ts): webgpu on the page's `navigator.gpu`, wasm (tfjs's own build,
// its .wasm files from `wasmPaths`) and cpu, each package imported through the application's bundler (a
// separate chunk, fetched only when that backend is chosen). The threaded wasm loader and the native kernels
// need Node's fs and worker_threads: `fast.native` and `fast.threads` are refused here.
import type { BackendName, BackendSpec, BackendStatus } from '../backends.js';
import type { FastKernelsOptions } from '../fast-kernels.js';
import type { InitBackendOptions, InitHost } from '../init.js';
import { loadWebgpuBackend, type WebgpuAdapter } from '../webgpu/index.js';
import { browserBackendSpecs, listBackends, resolveAutoBackend } from './backends.js';

/** Versions of the backend packages loaded here, from their own exports (a page has no package.json to read). */
const versions = new Map<string, string>();

function pickExplicit(name: BackendName, statuses: BackendStatus[]): BackendStatus {
  if (name === 'tensorflow') {
    throw new Error(
      "@resnet/backend: the 'tensorflow' backend (@tensorflow/tfjs-node) runs in Node.js only; in a browser use " +
        "'webgpu', 'wasm' or 'cpu' (or 'auto')",
    );
  }
  const status = statuses.find((candidate) => candidate.name === name)!;
  if (status.usable) return status;
  if (name === 'webgpu') {
    throw new Error(
      `@resnet/backend: the 'webgpu' backend is not available in this browser: ${status.detail}\n` +
        `Use a browser with WebGPU enabled, or initBackend({ backend: 'wasm' }).`,
    );
  }
  throw new Error(`@resnet/backend: the '${name}' backend is not usable: ${status.detail}`);
}

function checkFast(options: FastKernelsOptions): FastKernelsOptions {
  if (options.native === true || (options.threads !== undefined && options.threads > 1)) {
    throw new Error(
      '@resnet/backend: fast.native and fast.threads need Node.js (the native kernels run on a pool of ' +
        'worker_threads, the threaded wasm build is read from disk); leave them out in a browser, where ' +
        "tfjs's own wasm build runs (on several threads by itself when the page is cross-origin isolated)",
    );
  }
  return { ...options, native: false, threads: 1 };
}

async function load(spec: BackendSpec, options: InitBackendOptions): Promise<WebgpuAdapter | undefined> {
  if (spec.name === 'webgpu') {
    // tfjs-backend-webgpu exports no version: BackendInfo.versions names tfjs-core's only.
    return loadWebgpuBackend();
  }
  if (spec.name === 'wasm') {
    // initBackend installs the override table's wasm entries after this import (importing tfjs-backend-wasm
    // registers its own kernels over any registered before).
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Before the backend starts: it fetches its .wasm file as it initialises.
    if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
    versions.set(spec.package, wasm.version_wasm);
    return undefined;
  }
  const { version_cpu } = await import('@tensorflow/tfjs-backend-cpu');
  versions.set(spec.package, version_cpu);
  return undefined;
}

export const browserHost: InitHost = {
  specs: browserBackendSpecs,
  listBackends,
  resolveAutoBackend,
  pickExplicit,
  checkFast,
  load,
  packageVersion: (packageName) => versions.get(packageName),
};
