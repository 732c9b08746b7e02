// @resnet/backend, Node entry: picks and initialises a TensorFlow.js backend for the other packages, registers
// the gradients that tfjs-core's CommonJS build leaves out, and gives the embedded wasm backend the kernels
// training a convolutional network needs (the override table of ./overrides/table.ts), threaded, with the
// native kernels. Browsers get ./browser.ts (the `browser` export condition). The knobs only the benchmarks and
// tests use are in './internals.ts' (@resnet/backend/internals).
import './node/runtime.js';
import './gradients.js';
import { createInitBackend } from './init.js';
import { registerFileHandlers } from './node/file-io.js';
import { nodeHost } from './node/host.js';

// Node entry: model.save('file://…') and tf.loadLayersModel('file://…') without tfjs-node.
registerFileHandlers();

export { backendSpecs } from './backends.js';
export { listBackends, resolveAutoBackend } from './node/backends.js';
export * from './portable.js';

/**
 * Initialises TensorFlow.js on the requested backend and says what was chosen. 'auto' takes, in order:
 * @tensorflow/tfjs-node-gpu if installed and a GPU is visible, webgpu if installed with a hardware adapter
 * (never a software one: ask for it by name), @tensorflow/tfjs-node if installed, wasm
 * (with this package's training kernels), cpu. Asking for a backend that is not installed throws an error
 * that says how to install it. Safe to call more than once, and concurrently.
 */
export const initBackend = createInitBackend(nodeHost);
