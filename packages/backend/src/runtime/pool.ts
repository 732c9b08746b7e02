// @resnet/backend's own wasm SIMD kernels (../../native/*.c, linked into kernels.wasm), run in tfjs-backend-wasm's memory on
// every core: the module imports the threaded build's shared WebAssembly.Memory, so it reads and writes
// tensors where they lie, and a pool of worker threads runs the same module on the same memory.
//
// Why a pool of our own rather than XNNPACK's: XNNPACK's threads are reachable only through its own
// operators, and the kernels here (the convolution filter gradient, batch normalisation) are not among
// them. A job is one kernel call split in fixed shares by (thread, threads); the main thread takes share 0
// and then waits for the workers, so a kernel returns only when all of it is done, like any tfjs kernel.
//
// Node.js only (node:fs, worker_threads): the Node entry's runtime (../node/runtime.ts) offers these kernels to
// the ops; in browsers there are none, and every kernel takes its stock or JavaScript path.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { activeConfig } from './config.js';
import { align16, type EmscriptenHeap } from './platform.js';

/** The WebAssembly API of Node (the project's TypeScript lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmModuleObject {
  readonly __brand?: 'WebAssembly.Module';
}
interface WasmInstance {
  exports: Record<string, unknown>;
}
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => WasmModuleObject;
      Instance: new (module: WasmModuleObject, imports: unknown) => WasmInstance;
      Memory: new (...args: never[]) => WasmMemory;
    };
  }
).WebAssembly;

/** The exported kernels of kernels.wasm, all `(params, thread, threads) => void`. */
export const nativeKernelNames = [
  'conv2d_filter_grad',
  'sum_buffers',
  'bn_sum',
  'bn_sum_squares',
  'bn_scale_shift',
  'bn_grad_sums',
  'bn_grad_input',
  'conv2d',
  'relu_grad',
  'relu',
  'add',
  'winograd_filter',
  'conv2d_winograd',
  'winograd_filter_grad',
  'winograd_filter_grad_output',
] as const;
export type NativeKernelName = (typeof nativeKernelNames)[number];

type KernelFunction = (params: number, thread: number, threads: number) => void;

let compiled: WasmModuleObject | undefined;

function kernelsModule(): WasmModuleObject {
  if (compiled === undefined) {
    // src/native/index.ts and dist/native/index.js both lie two folders below the package root.
    const bytes = readFileSync(new URL('../../native/kernels.wasm', import.meta.url));
    compiled = new WebAssemblyApi.Module(bytes);
  }
  return compiled;
}

// Control words (Int32Array over a SharedArrayBuffer): the job generation the workers wait on, the kernel,
// its params pointer, the thread count, the count of workers done, a failure flag and a broken-pool flag.
const GENERATION = 0;
const KERNEL = 1;
const PARAMS = 2;
const THREADS = 3;
const DONE = 4;
const FAILED = 5;
/** Set by a worker that could not start: jobs would never complete. */
const BROKEN = 6;
const STOP = -1;

// The worker: instantiates the module on the shared memory and runs one share of each job it is woken for.
// CommonJS source run with `eval: true`, so that it needs no file of its own next to src/ or dist/.
const workerSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, thread, names } = workerData;
const words = new Int32Array(control);
let kernels;
try {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  kernels = names.map((name) => instance.exports[name]);
} catch (error) {
  // The main thread may be blocked waiting for this worker: tell it through the control words.
  Atomics.store(words, ${BROKEN}, 1);
  Atomics.notify(words, ${DONE});
  throw error;
}
let seen = 0;
for (;;) {
  // A wake-up is not a job: only a generation after the one last run is. The main thread bumps GENERATION and
  // then notifies; a worker already awake can see the new generation, run the job and wait again before that
  // notify comes (the main thread descheduled in between, under load). Taking that late notify for a job ran
  // the same job twice, and its second DONE counted for the main thread's next job, which then returned before
  // this worker had run its share of it (issue 12, item 3).
  let generation;
  while ((generation = Atomics.load(words, ${GENERATION})) === seen) Atomics.wait(words, ${GENERATION}, seen);
  seen = generation;
  const kernel = Atomics.load(words, ${KERNEL});
  if (kernel === ${STOP}) break;
  try {
    kernels[kernel](Atomics.load(words, ${PARAMS}), thread, Atomics.load(words, ${THREADS}));
  } catch (error) {
    Atomics.store(words, ${FAILED}, 1);
  }
  Atomics.add(words, ${DONE}, 1);
  Atomics.notify(words, ${DONE});
}
`;

/** Kernels of kernels.wasm bound to one wasm backend's memory, with `threads` threads. */
export class NativeKernels {
  readonly threads: number;
  private readonly memory: WasmMemory;
  private readonly heap: EmscriptenHeap;
  private readonly kernels: KernelFunction[];
  private readonly words: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly params: number;
  private scratchPointer = 0;
  private scratchBytes = 0;
  private zerosPointer = 0;
  private zerosBytes = 0;

  constructor(heap: EmscriptenHeap, memory: WasmMemory, threads: number) {
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new Error(
        `@resnet/backend: native kernel threads must be an integer from 1 to 64, got ${threads}`,
      );
    }
    this.heap = heap;
    this.memory = memory;
    this.threads = threads;
    const module = kernelsModule();
    const instance = new WebAssemblyApi.Instance(module, { env: { memory } });
    this.kernels = nativeKernelNames.map((name) => instance.exports[name] as KernelFunction);
    const control = new SharedArrayBuffer(8 * Int32Array.BYTES_PER_ELEMENT);
    this.words = new Int32Array(control);
    this.params = heap._malloc(64 * Int32Array.BYTES_PER_ELEMENT);
    for (let thread = 1; thread < threads; thread++) {
      const worker = new Worker(workerSource, {
        eval: true,
        workerData: { module, memory, control, thread, names: [...nativeKernelNames] },
      });
      // Idle workers wait on a futex; they must not keep the process alive.
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Float32 view of `length` elements at byte `pointer` of the wasm memory (fresh: the memory may grow). */
  f32(pointer: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, pointer, length);
  }

  f64(pointer: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, pointer, length);
  }

  /**
   * A scratch area of at least `bytes` bytes (16-byte aligned), valid until the next call; grown as needed
   * and kept between kernels, so that a training step does not malloc once per layer.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchPointer !== 0) this.heap._free(this.scratchPointer);
      const size = Math.max(bytes, 2 * this.scratchBytes) + 16;
      this.scratchPointer = this.heap._malloc(size);
      if (this.scratchPointer === 0) throw new Error(`@resnet/backend: wasm heap exhausted (${size} bytes)`);
      this.scratchBytes = size - 16;
    }
    return align16(this.scratchPointer);
  }

  /** A read-only area of at least `count` float32 zeros (what conv2d reads for taps in the padding). */
  zeros(count: number): number {
    const bytes = count * 4;
    if (bytes > this.zerosBytes) {
      if (this.zerosPointer !== 0) this.heap._free(this.zerosPointer);
      const size = Math.max(bytes, 1024);
      this.zerosPointer = this.heap._malloc(size);
      if (this.zerosPointer === 0) throw new Error(`@resnet/backend: wasm heap exhausted (${size} bytes)`);
      new Uint8Array(this.memory.buffer, this.zerosPointer, size).fill(0);
      this.zerosBytes = size;
    }
    return this.zerosPointer;
  }

  /** Runs `kernel` on every thread with `params` (int32 words; pointers are byte offsets) and waits for it. */
  run(kernel: NativeKernelName, params: readonly number[]): void {
    const index = nativeKernelNames.indexOf(kernel);
    new Int32Array(this.memory.buffer, this.params, params.length).set(params);
    const words = this.words;
    if (this.workers.length > 0) {
      Atomics.store(words, DONE, 0);
      Atomics.store(words, KERNEL, index);
      Atomics.store(words, PARAMS, this.params);
      Atomics.store(words, THREADS, this.threads);
      Atomics.add(words, GENERATION, 1);
      Atomics.notify(words, GENERATION);
    }
    let failure: unknown;
    try {
      this.kernels[index]!(this.params, 0, this.threads);
    } catch (error) {
      failure = error;
    }
    for (let done = Atomics.load(words, DONE); done < this.workers.length; done = Atomics.load(words, DONE)) {
      if (Atomics.load(words, BROKEN) !== 0) {
        throw new Error(
          `@resnet/backend: a native kernel worker thread could not start; run with registerFastKernels(...,` +
            ` { native: false }) to use tfjs's kernels instead`,
        );
      }
      // Woken by each worker that finishes; the timeout only bounds how late a broken pool is noticed.
      Atomics.wait(words, DONE, done, 1000);
    }
    if (failure !== undefined || Atomics.load(words, FAILED) !== 0) {
      Atomics.store(words, FAILED, 0);
      throw new Error(`@resnet/backend: native kernel ${kernel} failed: ${String(failure ?? 'on a worker')}`);
    }
  }

  /** Stops the workers and frees the scratch memory. */
  dispose(): void {
    Atomics.store(this.words, KERNEL, STOP);
    Atomics.add(this.words, GENERATION, 1);
    Atomics.notify(this.words, GENERATION);
    this.workers.length = 0;
    if (this.scratchPointer !== 0) this.heap._free(this.scratchPointer);
    if (this.zerosPointer !== 0) this.heap._free(this.zerosPointer);
    this.heap._free(this.params);
    this.zerosPointer = 0;
    this.zerosBytes = 0;
    this.scratchPointer = 0;
    this.scratchBytes = 0;
  }
}

const byHeap = new WeakMap<object, NativeKernels | null>();

/**
 * The native kernels for a wasm backend's Emscripten module, or null where they cannot run: switched off in
 * the configuration, or the module's memory is not shared (tfjs's single-threaded build exports a memory of
 * its own that a second module cannot import as shared). The pool has the configuration's thread count; a
 * change of it rebuilds the pool for the kernels that run after it.
 */
export function nativeKernelsFor(heap: EmscriptenHeap): NativeKernels | null {
  const { native, threads } = activeConfig();
  if (!native) return null;
  const known = byHeap.get(heap);
  if (known === null || (known !== undefined && known.threads === threads)) return known;
  // A new thread count: the pool is rebuilt (its workers stop, its scratch memory is freed).
  known?.dispose();
  const memory = heap.wasmMemory;
  const shared = memory !== undefined && memory.buffer instanceof SharedArrayBuffer;
  const kernels = shared ? new NativeKernels(heap, memory, threads) : null;
  byHeap.set(heap, kernels);
  return kernels;
}
