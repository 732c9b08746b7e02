// @resnet/backend, browser entry (the `browser` export condition): the same API as the Node entry for the
// backends a page has: webgpu (the page's navigator.gpu), wasm (tfjs's own build, with the override table's
// training kernels on their stock and JavaScript paths) and cpu. It imports nothing from `node:`, no
// worker_threads and not Dawn's `webgpu` package; what needs Node stays in the Node entry (./index.ts): the
// tensorflow backends, the threaded wasm build and the native kernels, file:// saving.
//
// The gradient of every kernel and the chained tensor methods (x.sum(), …), which training needs, are tfjs-core's
// own ES modules, imported here exactly as @tensorflow/tfjs's ES module index imports them; the bundler resolves
// their extensionless imports. (The Node entry loads the same modules bundled for Node: ./gradients.ts.)
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { browserHost } from './browser/host.js';
import { createInitBackend } from './init.js';

export { browserBackendSpecs as backendSpecs, listBackends, resolveAutoBackend } from './browser/backends.js';
export * from './portable.js';

/**
 * Initialises TensorFlow.js on the requested backend and says what was chosen. 'auto' takes, in order: webgpu
 * on a hardware adapter (never a software one: ask for it by name), wasm (with this package's training
 * kernels), cpu. Asking for a backend the page cannot run throws an error that says why. Safe to call more than
 * once, and concurrently. For wasm, `wasmPaths` says where the page serves tfjs's .wasm files.
 */
export const initBackend = createInitBackend(browserHost);
