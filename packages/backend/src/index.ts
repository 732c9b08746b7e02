// @resnet/backend: picks and initialises a TensorFlow.js backend for the other packages, registers the
// gradients that tfjs-core's CommonJS build leaves out, and (in later work) the wasm kernels training needs.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

// tfjs-core's Node (CommonJS) build registers no gradients and its ESM build cannot be imported by Node
// (extensionless specifiers). @tensorflow/tfjs's Node bundle carries the gradient registrations and writes
// them into the process-wide registry that every copy of tfjs-core reads.
require('@tensorflow/tfjs');

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export interface InitBackendOptions {
  /** Which backend to use; `'auto'` (the default) takes the fastest one installed. */
  backend?: BackendChoice;
}

export interface BackendInfo {
  /** The backend now active in TensorFlow.js. */
  name: BackendName;
  /** What was asked for. */
  requested: BackendChoice;
  /** The npm package that provides it. */
  package: string;
  /** Whether kernels run on a GPU. */
  gpu: boolean;
  /** Versions of the TensorFlow.js packages in use. */
  versions: Record<string, string>;
}

/** Initialises TensorFlow.js on the requested backend and says what was chosen. */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const requested = options.backend ?? 'auto';
  const name: BackendName = requested === 'auto' ? 'wasm' : requested;
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  if (name === 'tensorflow') throw new Error('the tensorflow backend is not wired yet');
  if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js could not initialise the ${name} backend`);
  await tf.ready();
  return {
    name,
    requested,
    package: `@tensorflow/tfjs-backend-${name}`,
    gpu: false,
    versions: { 'tfjs-core': tf.version_core },
  };
}
