// Multi-threaded wasm in Node.js: @tensorflow/tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK
// with a pthread pool) but never uses it in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag answers false there,
// tfjs issue #3830), and that build caps its pool at half the logical cores (it assumes two hyper-threads
// per core), so a 2-core machine would get one thread anyway. This file re-registers the 'wasm' backend
// factory so that it loads the threaded build from the package's own `wasm-out/` folder with a pool of the
// size asked for (the override table installs it; see ../overrides/table.ts). Kernels compute exactly what they computed before: XNNPACK splits outputs between threads,
// it does not reorder any sum. Node.js only (fs, os, require): browsers keep tfjs's own single-threaded build.
import { randomUUID } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BackendFactory, backendFactories } from './wasm-factory.js';

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

const factories = new Map<number, BackendFactory>();

/**
 * The 'wasm' backend factory that loads the threaded SIMD build with XNNPACK on `threads` threads (memoised,
 * so that the override table can tell it is in place). The override table installs it before the wasm
 * backend initialises; it must not be swapped afterwards, or the backend's tensors would be lost.
 */
export function threadedWasmFactory(threads: number): BackendFactory {
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new Error(`@resnet/backend: XNNPACK threads must be an integer from 1 to 8, got ${threads}`);
  }
  const known = factories.get(threads);
  if (known !== undefined) return known;
  const wasmPackage =
    require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const packageRoot = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const wasmOut = join(packageRoot, 'wasm-out');
  const script = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  const binary = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.wasm');

  const createBackend = async () => {
    const worker = workerScriptPath(wasmOut, wasmPackage.version_wasm);
    const factory = require(script) as ThreadedFactory;
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
            throw new Error(`@resnet/backend: could not instantiate ${binary}: ${String(error)}`);
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
  // Priority 2 is the stock wasm registration's.
  const made: BackendFactory = { factory: createBackend, priority: 2 };
  factories.set(threads, made);
  return made;
}

/** The XNNPACK thread count of the threaded factory registered for 'wasm' now, if it is one of ours. */
export function threadedWasmThreads(): number | undefined {
  const current = backendFactories()['wasm'];
  for (const [threads, factory] of factories) if (factory.factory === current?.factory) return threads;
  return undefined;
}
