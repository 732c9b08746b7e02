// Where the webgpu backend's GPU comes from and what it is: the browser's own `navigator.gpu`, or in Node.js
// Dawn's bindings from the optional `webgpu` package, installed as `navigator.gpu` (what
// @tensorflow/tfjs-backend-webgpu reads). The `webgpu` package is loaded by a dynamic import only when running
// in Node.js, under a specifier bundlers do not follow, so a browser bundle never sees it; this file imports
// nothing from `node:`.

/** The adapter the webgpu backend runs on, as `backends` prints it. */
export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /**
   * A software rasteriser (Mesa's llvmpipe/lavapipe, SwiftShader, or any adapter that says
   * `isFallbackAdapter`): correct but slower than the CPU backends, so `auto` never takes it.
   */
  software: boolean;
  /** The limits that bound what a network can allocate and dispatch. */
  limits: Record<string, number>;
  /** The adapter's optional features (timestamp-query lets `perf --profile` time kernels on the GPU). */
  features: string[];
  /** 'node' (Dawn through the webgpu package) or 'browser' (the page's WebGPU). */
  runtime: 'node' | 'browser';
}

/** What probing WebGPU found: an adapter, or why there is none. */
export type WebgpuProbe =
  | { ok: true; adapter: WebgpuAdapter }
  | { ok: false; missing: 'package' | 'adapter'; reason: string };

/** The limits `backends` prints: the ones a ResNet at batch 128 meets first. */
export const reportedLimits = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** The npm packages the webgpu backend needs, with the versions this package is tested with. */
export const webgpuPackages = {
  backend: '@tensorflow/tfjs-backend-webgpu@^4.22.0',
  dawn: 'webgpu@^0.6.2',
} as const;

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** The parts of a GPUAdapter read here (kept structural so that no WebGPU type declarations are needed). */
export interface AdapterLike {
  info?: AdapterInfoLike;
  isFallbackAdapter?: boolean;
  limits: object;
  features: Iterable<string>;
  requestDevice(descriptor?: object): Promise<unknown>;
}

/** The parts of a GPU (navigator.gpu) read here. */
export interface GpuLike {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
  }): Promise<AdapterLike | null>;
}

interface GpuState {
  gpu: GpuLike;
  runtime: 'node' | 'browser';
  /** Whether `navigator.gpu` (or `navigator` itself) was installed here, so dispose can take it away again. */
  installed: 'navigator' | 'gpu' | undefined;
}

let state: Promise<GpuState | { error: WebgpuProbe & { ok: false } }> | undefined;
let probe: Promise<WebgpuProbe> | undefined;

/** Whether this is Node.js (not a browser, not a web worker): only then is Dawn loaded. */
export function inNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string' && !('window' in globalThis);
}

/** `navigator.gpu` if there is one, else undefined. */
function navigatorGpu(): GpuLike | undefined {
  return (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu ?? undefined;
}

/** Dawn's flags: Vulkan on Linux (the driver Dawn's Linux build is tested with); the platform's own elsewhere. */
export function dawnFlags(): string[] {
  const platform = (globalThis as { process?: { platform?: string } }).process?.platform;
  return platform === 'linux' ? ['backend=vulkan'] : [];
}

async function createGpu(): Promise<GpuState | { error: WebgpuProbe & { ok: false } }> {
  const existing = navigatorGpu();
  if (existing !== undefined)
    return { gpu: existing, runtime: inNode() ? 'node' : 'browser', installed: undefined };
  if (!inNode()) {
    return {
      error: {
        ok: false,
        missing: 'adapter',
        reason: 'this browser has no WebGPU (navigator.gpu is undefined)',
      },
    };
  }
  // A variable specifier: bundlers leave it alone, and only Node.js ever evaluates this line.
  const specifier = 'webgpu';
  let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  try {
    dawn = await import(/* @vite-ignore */ specifier);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const notInstalled = code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(`'${specifier}'`);
    return {
      error: {
        ok: false,
        missing: 'package',
        reason: notInstalled
          ? `the webgpu package (Dawn's Node.js bindings) is not installed (pnpm add ${webgpuPackages.dawn})`
          : `the webgpu package could not load Dawn (dawn.node): ${(error as Error).message}`,
      },
    };
  }
  // tfjs-backend-webgpu uses the WebGPU constants (GPUBufferUsage, GPUMapMode, …) as globals, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis))
      Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  const gpu = dawn.create(dawnFlags());
  const holder = globalThis as { navigator?: object };
  // Node.js 21+ has a navigator of its own (without gpu); Node.js 20 has none.
  if (holder.navigator !== undefined) {
    Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    return { gpu, runtime: 'node', installed: 'gpu' };
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return { gpu, runtime: 'node', installed: 'navigator' };
}

/** The GPU object (creating Dawn's in Node.js on first use), or why there is none. */
export async function getGpu(): Promise<GpuState | { error: WebgpuProbe & { ok: false } }> {
  state ??= createGpu();
  return state;
}

/** Software adapters by name, for drivers that do not set isFallbackAdapter. */
const softwareNames = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;

/** Why Dawn gives no adapter, and what to install. */
export const noAdapterReason =
  'Dawn found no WebGPU adapter: no Vulkan driver with what Dawn requires (install the GPU vendor’s Vulkan driver; for a software one, Mesa >= 25: apt-get install -t bookworm-backports mesa-vulkan-drivers on Debian 12)';

/** What `adapter` is, in the form `backends` prints. */
export function describeAdapter(
  adapter: Pick<AdapterLike, 'info' | 'isFallbackAdapter' | 'limits' | 'features'>,
  runtime: 'node' | 'browser',
): WebgpuAdapter {
  const info = adapter.info ?? {};
  const text = (value: string | undefined) => value ?? '';
  const names = [info.vendor, info.architecture, info.device, info.description].map(text).join(' ');
  const limits: Record<string, number> = {};
  for (const name of reportedLimits) {
    const value = (adapter.limits as Record<string, unknown>)[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return {
    vendor: text(info.vendor),
    architecture: text(info.architecture),
    device: text(info.device),
    description: text(info.description),
    software:
      info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || softwareNames.test(names),
    limits,
    features: [...adapter.features].sort(),
    runtime,
  };
}

/** Requests the adapter tfjs-backend-webgpu would use (high-performance). */
export async function requestAdapter(): Promise<
  { adapter: AdapterLike; runtime: 'node' | 'browser' } | (WebgpuProbe & { ok: false })
> {
  const gpu = await getGpu();
  if ('error' in gpu) return gpu.error;
  const adapter = await gpu.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    return {
      ok: false,
      missing: 'adapter',
      reason: gpu.runtime === 'node' ? noAdapterReason : 'the browser offers no WebGPU adapter',
    };
  }
  return { adapter, runtime: gpu.runtime };
}

/**
 * Whether WebGPU has an adapter here and what it is. Loads Dawn in Node.js (not the TensorFlow.js backend);
 * the answer is cached until {@link disposeWebgpuGpu}.
 */
export function probeWebgpu(): Promise<WebgpuProbe> {
  probe ??= requestAdapter().then((found) =>
    'adapter' in found ? { ok: true, adapter: describeAdapter(found.adapter, found.runtime) } : found,
  );
  return probe;
}

/**
 * Lets go of the GPU object: takes away the `navigator.gpu` installed here and forgets Dawn's instance, so that
 * nothing keeps Node.js running. A later probe or initBackend creates a fresh one.
 */
export async function disposeWebgpuGpu(): Promise<void> {
  const current = state === undefined ? undefined : await state;
  state = undefined;
  probe = undefined;
  if (current === undefined || 'error' in current) return;
  const holder = globalThis as { navigator?: { gpu?: unknown } };
  if (current.installed === 'navigator') delete holder.navigator;
  else if (current.installed === 'gpu' && holder.navigator !== undefined) delete holder.navigator.gpu;
}
