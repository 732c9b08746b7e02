// Browsers: the backends a page has (webgpu, wasm, cpu: the tensorflow backends are Node.js addons), whether
// each one is usable here, and what 'auto' would pick. Nothing is read from disk: a backend's package is there
// when the application's bundle resolved it, and usable when the browser has what it needs (an adapter for
// webgpu, WebAssembly for wasm).
import { type BackendSpec, type BackendStatus, backendSpecs, pickAuto, webgpuStatus } from '../backends.js';
import { probeWebgpu } from '../webgpu/index.js';

/** The backends of ../backends.ts a browser has, in the order 'auto' prefers them. */
export const browserBackendSpecs: readonly BackendSpec[] = backendSpecs.filter(
  (spec) => spec.name !== 'tensorflow',
);

function statusOf(spec: BackendSpec): BackendStatus {
  const base = { name: spec.name, package: spec.package, gpu: spec.gpu, installed: true };
  if (spec.name === 'wasm') {
    if (!('WebAssembly' in globalThis)) {
      return { ...base, usable: false, detail: 'this browser has no WebAssembly' };
    }
    return {
      ...base,
      usable: true,
      detail:
        "tfjs's own wasm build (XNNPACK; its threads only where the page is cross-origin isolated), plus the training kernels of @resnet/backend (no native kernels in browsers)",
    };
  }
  return { ...base, usable: true, detail: 'pure JavaScript: every kernel, slow convolutions' };
}

/**
 * Every backend a browser has, whether it is usable in this page, and why. Loads none of them; for webgpu it
 * asks `navigator.gpu` for an adapter (cached).
 */
export async function listBackends(): Promise<BackendStatus[]> {
  return Promise.all(
    browserBackendSpecs.map(async (spec) =>
      spec.name === 'webgpu' ? webgpuStatus(spec, await probeWebgpu()) : statusOf(spec),
    ),
  );
}

/** Which backend `initBackend({ backend: 'auto' })` would initialise in this page, without initialising it. */
export async function resolveAutoBackend(): Promise<BackendStatus> {
  return pickAuto(await listBackends(), 'this browser has no WebAssembly and no WebGPU adapter');
}
