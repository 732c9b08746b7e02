// The one store of the stock TensorFlow.js pieces that @resnet/backend replaces (kernels, gradients, a layer
// method, the wasm backend factory), each saved the first time the override table looks at its slot, before
// anything of ours is written there. restore() puts these back; our kernels call the stock ones through it.
import { getKernel, type KernelConfig } from '@tensorflow/tfjs-core';

const stock = new Map<string, unknown>();

/** Saves what `read()` gives as the stock piece of `key`, unless one is saved already (first call wins). */
export function saveStock(key: string, read: () => unknown): void {
  if (!stock.has(key)) stock.set(key, read());
}

/** Whether a stock piece was saved for `key`. */
export function hasStock(key: string): boolean {
  return stock.has(key);
}

/** The stock piece saved for `key` (undefined: the slot was empty). */
export function stockPiece(key: string): unknown {
  return stock.get(key);
}

/** The key of a kernel's slot in the registry. */
export function kernelKey(kernelName: string, backendName: string): string {
  return `kernel ${kernelName} on ${backendName}`;
}

/** The kernel TensorFlow.js itself registered under `kernelName` (the registered one if none was saved). */
export function stockKernel(kernelName: string, backendName = 'wasm'): KernelConfig | undefined {
  const key = kernelKey(kernelName, backendName);
  return stock.has(key) ? (stock.get(key) as KernelConfig | undefined) : getKernel(kernelName, backendName);
}
