// The 'wasm' backend factory registered in TensorFlow.js's engine, read and written as the override table's
// factory slot does (../overrides/table.ts). Which factory goes there comes from the runtime (./platform.ts):
// Node's threaded build (./threaded-wasm.ts), or none (tfjs's own stays) in browsers.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendFactory } from './platform.js';

export type { BackendFactory };

/** The engine's backend factories by name. */
export function backendFactories(): Record<string, BackendFactory> {
  return tf.engine().registryFactory as Record<string, BackendFactory>;
}

/** The 'wasm' backend factory registered now. */
export function wasmBackendFactory(): BackendFactory | undefined {
  return backendFactories()['wasm'];
}

/** Registers `factory` for 'wasm' (nothing if undefined), replacing the one there. */
export function setWasmBackendFactory(factory: BackendFactory | undefined): void {
  if (backendFactories()['wasm'] !== undefined) tf.removeBackend('wasm');
  if (factory !== undefined) tf.registerBackend('wasm', factory.factory, factory.priority);
}

/** Whether the wasm backend has been initialised (its factory can no longer be swapped). */
export function wasmInitialised(): boolean {
  return tf.engine().registry['wasm'] !== undefined;
}
