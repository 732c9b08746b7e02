// The Node entry's InitHost (../init.ts): every backend of ../backends.ts, found on disk by ./backends.ts, loaded
// by import or, for CommonJS tfjs-node, by require; every switch of the override table available.
import { createRequire } from 'node:module';
import { type BackendName, type BackendSpec, type BackendStatus, backendSpecs } from '../backends.js';
import type { InitHost } from '../init.js';
import { loadWebgpuBackend, type WebgpuAdapter } from '../webgpu/index.js';
import {
  listBackends,
  packageVersion,
  resolveAutoBackend,
  resolvePackage,
  tensorflowInstallHelp,
  webgpuInstallHelp,
} from './backends.js';

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
async function load(spec: BackendSpec): Promise<WebgpuAdapter | undefined> {
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
    // initBackend installs the override table's wasm entries after this import (importing tfjs-backend-wasm
    // registers its own kernels over any registered before).
    await import('@tensorflow/tfjs-backend-wasm');
    return;
  }
  await import('@tensorflow/tfjs-backend-cpu');
  return undefined;
}

export const nodeHost: InitHost = {
  specs: backendSpecs,
  listBackends,
  resolveAutoBackend,
  pickExplicit,
  checkFast: (options) => options,
  load,
  packageVersion,
};
