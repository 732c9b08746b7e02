// Multi-threaded wasm in Node.js: @tensorflow/tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK
// with a pthread pool) but never uses it in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag answers false there,
// tfjs issue #3830), and that build caps its pool at half the logical cores (it assumes two hyper-threads
// per core), so a 2-core machine would get one thread anyway. This file re-registers the 'wasm' backend
// factory so that it loads the threaded build from the package's own `wasm-out/` folder with a pool of the
// size asked for. Kernels compute exactly what they computed before: XNNPACK splits outputs between threads,
// it does not reorder any sum.
import { randomUUID } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

/** The part of an Emscripten module that BackendWasm and this file use. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  PThread?: { runningWorkers: Array<{ unref(): void }>; unusedWorkers: Array<{ unref(): void }> };
  tfjs?: unknown;
}

/** The WebAssembly API of Node (the project's TypeScript lib has no DOM types). */
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: unknown; module: unknown }>;
    };
  }
).WebAssembly;

type ThreadedFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** What {@link useThreadedWasm} did. */
export interface ThreadedWasmInfo {
  /** Threads XNNPACK was asked for; the backend reports what it got through `getThreadsCount()`. */
  threads: number;
  /** The Emscripten glue script loaded. */
  script: string;
}

interface BackendFactory {
  factory: () => tf.KernelBackend | Promise<tf.KernelBackend>;
  priority: number;
}

let installed: ThreadedWasmInfo | undefined;
/** The factory @tensorflow/tfjs-backend-wasm registered, kept to put it back. */
let stockFactory: BackendFactory | undefined;

function backendFactories(): Record<string, BackendFactory> {
  return tf.engine().registryFactory as Record<string, BackendFactory>;
}

/** Default pool size: every logical core, at most the 8 workers the threaded build pre-creates. */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(8, cpus().length));
}

/**
 * The Emscripten worker script, written once per tfjs version to the temp folder. The package ships it only
 * as a string inside a CommonJS module (`wasmWorkerContents`), which a Node worker cannot run as is.
 */
function workerScriptPath(wasmOut: string, version: string): string {
  const path = join(tmpdir(), `resnet-tfjs-backend-wasm-${version}-threaded-simd.worker.cjs`);
  if (existsSync(path)) return path;
  const { wasmWorkerContents } = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The string holds '\n' escapes inside string literals that became real newlines; tfjs escapes them
  // the same way before making a Blob of it.
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, wasmWorkerContents.replace(/\n/g, '\\n'));
  renameSync(temporary, path);
  return path;
}

/**
 * Makes the next initialisation of the 'wasm' backend load the threaded SIMD build with `threads` threads.
 * Call it after importing `@tensorflow/tfjs-backend-wasm` and before `tf.setBackend('wasm')`; if the wasm
 * backend is already initialised it throws, because its tensors would be lost. Calling it again with the
 * same thread count does nothing.
 */
export function useThreadedWasm(threads: number = defaultWasmThreads()): ThreadedWasmInfo {
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new Error(`useThreadedWasm: threads must be an integer from 1 to 8, got ${threads}`);
  }
  if (installed?.threads === threads) return installed;
  if (tf.engine().registry['wasm'] !== undefined) {
    throw new Error(
      'useThreadedWasm: the wasm backend is already initialised; call it before tf.setBackend("wasm") ' +
        '(initBackend does so)',
    );
  }
  const wasmPackage =
    require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const packageRoot = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const wasmOut = join(packageRoot, 'wasm-out');
  const script = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const binary = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.wasm');
  const worker = workerScriptPath(wasmOut, wasmPackage.version_wasm);
  const factory = require(script) as ThreadedFactory;

  const createBackend = async () => {
    const module = await factory({
      mainScriptUrlOrBlob: script,
      locateFile: (path: string, prefix: string) => (path.endsWith('.worker.js') ? worker : prefix + path),
      // The build sizes its pool as min(asked, logical cores / 2); answering 2 × threads lets `threads` through.
      instantiateWasm: (
        info: { env: Record<string, unknown> },
        receive: (instance: unknown, module: unknown) => void,
      ) => {
        info.env['emscripten_num_logical_cores'] = () => 2 * threads;
        readFile(binary)
          .then((bytes) => WebAssemblyApi.instantiate(bytes, info))
          .then((result) => receive(result.instance, result.module))
          .catch((error: unknown) => {
            throw new Error(`useThreadedWasm: could not instantiate ${binary}: ${String(error)}`);
          });
        return {};
      },
    });
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    wasmPackage.setThreadsCount(threads);
    const backend = new wasmPackage.BackendWasm(module as never);
    // The pool's workers wait on a futex for work; they must not keep the process alive once main returns.
    for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) {
      w.unref();
    }
    return backend;
  };
  stockFactory ??= backendFactories()['wasm'];
  tf.removeBackend('wasm');
  // Priority 2 is the stock wasm registration's.
  tf.registerBackend('wasm', createBackend, 2);
  installed = { threads, script };
  return installed;
}

/**
 * Puts back tfjs's own (single-threaded in Node) wasm backend factory, if {@link useThreadedWasm} replaced it
 * and the wasm backend is not initialised yet. Returns whether the stock factory is now registered.
 */
export function useStockWasm(): boolean {
  if (installed === undefined) return true;
  if (tf.engine().registry['wasm'] !== undefined || stockFactory === undefined) return false;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', stockFactory.factory, stockFactory.priority);
  installed = undefined;
  return true;
}

/** Whether {@link useThreadedWasm} has replaced the wasm backend factory, and with how many threads. */
export function threadedWasmInfo(): ThreadedWasmInfo | undefined {
  return installed;
}
