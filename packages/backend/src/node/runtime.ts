// Node.js's runtime for the override table and the ops (see ../runtime/platform.ts): the logical cores
// (node:os), tfjs-backend-wasm's threaded build (../runtime/threaded-wasm.ts: fs, require), the native kernels'
// worker pool (../runtime/pool.ts: fs, worker_threads), and packages loaded by require. Installed as this module
// loads; the Node entry (../index.ts) and @resnet/backend/internals import it first.
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { setRuntime } from '../runtime/platform.js';
import { nativeKernelsFor } from '../runtime/pool.js';
import { threadedWasmFactory, threadedWasmThreads } from '../runtime/threaded-wasm.js';

const require = createRequire(import.meta.url);

setRuntime({
  name: 'node',
  logicalCores: () => cpus().length,
  threadedWasm: true,
  threadedWasmFactory,
  threadedWasmThreads,
  nativeKernelsFor,
  loadWasm: () => {
    require('@tensorflow/tfjs-backend-wasm');
  },
  loadLayers: () => {
    try {
      require('@tensorflow/tfjs-layers');
    } catch {
      // not installed: the layer row of the override table has no slot
    }
  },
});
