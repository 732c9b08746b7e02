// Node.js: whether each backend of ../backends.ts is installed and usable on this machine, without loading
// it (packages resolved from this package or the current directory, tfjs-node's addon, an NVIDIA GPU, Dawn's
// adapter asked in a child process), and what 'auto' would pick.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type BackendSpec, type BackendStatus, backendSpecs, pickAuto, webgpuStatus } from '../backends.js';
import { webgpuPackages } from '../webgpu/index.js';
import { probeWebgpuInChild } from '../webgpu/probe-node.js';

const ownRequire = createRequire(import.meta.url);

/**
 * Resolves `specifier` from this package first, then from the current directory: a workspace app that
 * installed an optional backend has it in its own node_modules, which this package's resolution never sees.
 */
export function resolvePackage(specifier: string): string | undefined {
  for (const from of [ownRequire, createRequire(join(process.cwd(), 'package.json'))]) {
    try {
      return from.resolve(specifier);
    } catch {
      // not resolvable from here; try the next place
    }
  }
  return undefined;
}

/** The directory holding `packageName`'s package.json, if it is installed. */
export function packageDirectory(packageName: string): string | undefined {
  const manifest = resolvePackage(`${packageName}/package.json`);
  if (manifest !== undefined) return dirname(manifest);
  const main = resolvePackage(packageName);
  if (main === undefined) return undefined;
  let directory = dirname(main);
  while (!existsSync(join(directory, 'package.json')) && dirname(directory) !== directory) {
    directory = dirname(directory);
  }
  return directory;
}

/** The version in an installed package's package.json. */
export function packageVersion(packageName: string): string | undefined {
  const directory = packageDirectory(packageName);
  if (directory === undefined) return undefined;
  return (ownRequire(join(directory, 'package.json')) as { version?: string }).version;
}

/** The native addon tfjs-node builds (or downloads) in its install script: lib/napi-v*\/tfjs_binding.node. */
function tensorflowAddon(directory: string): string | undefined {
  const lib = join(directory, 'lib');
  if (!existsSync(lib)) return undefined;
  for (const entry of readdirSync(lib)) {
    const addon = join(lib, entry, 'tfjs_binding.node');
    if (entry.startsWith('napi-v') && existsSync(addon)) return addon;
  }
  return undefined;
}

let gpuCache: { visible: boolean; how: string } | undefined;

/**
 * Whether an NVIDIA GPU is visible, without loading TensorFlow: the driver's /proc entries on Linux, else
 * `nvidia-smi -L` (WSL, other systems). Cached: the answer does not change while the process runs.
 */
export function nvidiaGpuVisible(): { visible: boolean; how: string } {
  if (gpuCache !== undefined) return gpuCache;
  const proc = '/proc/driver/nvidia/gpus';
  if (existsSync(proc) && readdirSync(proc).length > 0) {
    gpuCache = { visible: true, how: `${readdirSync(proc).length} GPU(s) in ${proc}` };
    return gpuCache;
  }
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  const gpus = smi.status === 0 ? smi.stdout.split('\n').filter((line) => line.startsWith('GPU ')).length : 0;
  gpuCache =
    gpus > 0
      ? { visible: true, how: `nvidia-smi lists ${gpus} GPU(s)` }
      : { visible: false, how: 'no NVIDIA GPU (no /proc/driver/nvidia/gpus entries, nvidia-smi lists none)' };
  return gpuCache;
}

/** The install steps for a tensorflow backend package, for error messages and `detail`. */
export function tensorflowInstallHelp(packageName: string): string {
  const gpu = packageName.endsWith('-gpu');
  return [
    `To use ${packageName}:`,
    `  1. npm install ${packageName}@^4.22.0`,
    `  2. let its install script run (it downloads libtensorflow 2.9.1${gpu ? ' for GPU' : ''}): npm runs it unless`,
    `     scripts are off (--ignore-scripts); pnpm skips it until '${packageName}' is in onlyBuiltDependencies`,
    `     (pnpm-workspace.yaml) or allowed with pnpm approve-builds, then reinstall`,
    gpu
      ? '  3. have Linux x86-64, an NVIDIA driver, CUDA 11.2 and cuDNN 8.1 (the versions libtensorflow 2.9.1 needs)'
      : '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

function statusOf(spec: BackendSpec): BackendStatus {
  const base = { name: spec.name, package: spec.package, gpu: spec.gpu };
  const directory = packageDirectory(spec.package);
  if (directory === undefined) {
    return {
      ...base,
      installed: false,
      usable: false,
      detail: `not installed (npm install ${spec.package})`,
    };
  }
  if (spec.name === 'tensorflow') {
    const addon = tensorflowAddon(directory);
    if (addon === undefined) {
      return {
        ...base,
        installed: true,
        usable: false,
        detail: `installed, but its native addon is missing: its install script did not run (npm rebuild ${spec.package}; under pnpm, add it to onlyBuiltDependencies or run pnpm approve-builds, then reinstall)`,
      };
    }
    if (spec.gpu) {
      const gpu = nvidiaGpuVisible();
      return { ...base, installed: true, usable: gpu.visible, detail: `native addon built; ${gpu.how}` };
    }
    return { ...base, installed: true, usable: true, detail: 'native addon built' };
  }
  if (spec.name === 'wasm') {
    const binaries = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'].map((file) =>
      join(directory, 'dist', file),
    );
    const missing = binaries.filter((file) => !existsSync(file));
    if (!('WebAssembly' in globalThis)) {
      return {
        ...base,
        installed: true,
        usable: false,
        detail: 'this JavaScript runtime has no WebAssembly',
      };
    }
    if (missing.length > 0) {
      return {
        ...base,
        installed: true,
        usable: false,
        detail: `installed, but ${missing.join(', ')} is missing`,
      };
    }
    return {
      ...base,
      installed: true,
      usable: true,
      detail:
        'XNNPACK kernels, plus the training kernels of @resnet/backend; threaded with the fast kernels (the initBackend default)',
    };
  }
  return {
    ...base,
    installed: true,
    usable: true,
    detail: 'pure JavaScript: every kernel, slow convolutions',
  };
}

/** The install line of the webgpu backend, for error messages and `detail`. */
export function webgpuInstallHelp(): string {
  return `pnpm add ${webgpuPackages.backend} ${webgpuPackages.dawn} (webgpu: Dawn's Node.js bindings, needed in Node.js only)`;
}

/**
 * The webgpu backend's status: its package installed, and (by asking Dawn for an adapter in a child process)
 * whether a GPU is there. `gpu` is false on a software adapter, which `auto` never takes.
 */
async function webgpuStatusOf(spec: BackendSpec): Promise<BackendStatus> {
  if (packageDirectory(spec.package) === undefined) {
    return {
      name: spec.name,
      package: spec.package,
      gpu: spec.gpu,
      installed: false,
      usable: false,
      detail: `not installed (${webgpuInstallHelp()})`,
    };
  }
  return webgpuStatus(spec, probeWebgpuInChild(resolvePackage('webgpu')));
}

/**
 * Every backend this package knows, whether it is installed and usable here, and why. Loads none of them; for
 * webgpu a child process asks Dawn for the adapter (once per process; about half a second).
 */
export async function listBackends(): Promise<BackendStatus[]> {
  return Promise.all(
    backendSpecs.map((spec) => (spec.name === 'webgpu' ? webgpuStatusOf(spec) : statusOf(spec))),
  );
}

/** Which backend `initBackend({ backend: 'auto' })` would initialise, without initialising it. */
export async function resolveAutoBackend(): Promise<BackendStatus> {
  return pickAuto(
    await listBackends(),
    'install @tensorflow/tfjs-backend-wasm (npm install @tensorflow/tfjs-backend-wasm)',
  );
}
