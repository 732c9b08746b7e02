// What the JavaScript runtime offers the override table and the ops beyond WebAssembly itself: the core count,
// the threaded wasm build, @resnet/backend's native kernels on a pool of worker threads, and loading a package
// synchronously. The portable runtime here (browsers, and any runtime without Node's APIs) offers none of them:
// tfjs's own single-threaded wasm build, every kernel on its JavaScript or stock path. The Node entry installs
// Node's runtime (../node/runtime.ts: os, fs, worker_threads, require) as it loads, so that nothing here or in
// the ops imports a Node module. The runtime is process-wide because TensorFlow.js's registries are.
import type * as tf from '@tensorflow/tfjs-core';
import type { NativeKernels } from './pool.js';

/** A backend factory as TensorFlow.js's engine keeps it. */
export interface BackendFactory {
  factory: () => tf.KernelBackend | Promise<tf.KernelBackend>;
  priority: number;
}

/** The part of tfjs-backend-wasm's Emscripten module the native kernels use. */
export interface EmscriptenHeap {
  wasmMemory?: { readonly buffer: ArrayBufferLike };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

export interface Runtime {
  /** 'node' once the Node entry has installed its runtime; 'portable' otherwise. */
  readonly name: 'node' | 'portable';
  /** Logical cores, for the default thread count. */
  logicalCores(): number;
  /** Whether the threaded SIMD wasm build can be loaded here (Node.js: from the package's files). */
  readonly threadedWasm: boolean;
  /** The 'wasm' factory of the threaded SIMD build on `threads` XNNPACK threads; undefined where there is none. */
  threadedWasmFactory(threads: number): BackendFactory | undefined;
  /** The XNNPACK thread count of the threaded factory registered now, if it is one of ours. */
  threadedWasmThreads(): number | undefined;
  /** The native kernels bound to a wasm backend's memory, or null where they cannot run. */
  nativeKernelsFor(heap: EmscriptenHeap): NativeKernels | null;
  /** Loads @tensorflow/tfjs-backend-wasm now (Node: require); elsewhere the caller has imported it. */
  loadWasm(): void;
  /** Loads @tensorflow/tfjs-layers if installed (Node: require); elsewhere the application imports it. */
  loadLayers(): void;
}

/** Browsers: one thread, tfjs's own wasm build, no native kernels; packages are the bundle's imports. */
const portable: Runtime = {
  name: 'portable',
  logicalCores: () => 1,
  threadedWasm: false,
  threadedWasmFactory: () => undefined,
  threadedWasmThreads: () => undefined,
  nativeKernelsFor: () => null,
  loadWasm: () => {},
  loadLayers: () => {},
};

let current: Runtime = portable;

/** The runtime in effect. */
export function runtime(): Runtime {
  return current;
}

/** Installs `next` as the runtime (only the Node entry's ../node/runtime.ts calls this). */
export function setRuntime(next: Runtime): void {
  current = next;
}

/**
 * `pointer` rounded up to a multiple of 16, as an unsigned byte offset: tfjs-wasm's heap grows to 4 GiB, and
 * JavaScript's `&` gives a negative number for an offset at or past 2 GiB.
 */
export function align16(pointer: number): number {
  return ((pointer + 15) & ~15) >>> 0;
}

/** Byte offset of a tensor's data in a wasm backend's memory. */
export function wasmPointer(
  backend: { dataIdMap: { get(id: object): { memoryOffset: number } | undefined } },
  info: { dataId: object },
): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('@resnet/backend: tensor data is not on this wasm backend');
  return data.memoryOffset;
}

/** The native kernels of a wasm backend (null: none here, or switched off); see {@link Runtime.nativeKernelsFor}. */
export function nativeKernelsOfBackend(backend: object): NativeKernels | null {
  const heap = (backend as { wasm?: EmscriptenHeap }).wasm;
  if (heap === undefined) return null;
  return current.nativeKernelsFor(heap);
}
