// Identity (tf.clone) for wasm without a copy. tfjs's engine clones every tensor a kernel saves for its
// gradient (each conv's input and filter, each BN's input, each ReLU's input...), and tfjs-backend-wasm's
// Identity copies the whole buffer each time. tfjs tensors are immutable (a Variable's assign swaps its
// data, it never writes into it), so the clone can share the data and count one more reference, which is
// what tfjs-backend-cpu's Identity does.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  getKernel,
  Identity,
  type IdentityInputs,
  type KernelConfig,
  type KernelFunc,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

function sharedIdentity(args: { inputs: IdentityInputs; backend: BackendWasm }): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const wasmSharedIdentityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: sharedIdentity as unknown as KernelFunc,
};

let stockIdentity: KernelConfig | undefined;

/** Registers the copy-free Identity over wasm's own. Idempotent. */
export function registerWasmSharedIdentity(): void {
  const current = getKernel(Identity, 'wasm');
  if (current?.kernelFunc === wasmSharedIdentityConfig.kernelFunc) return;
  stockIdentity ??= current;
  if (current !== undefined) unregisterKernel(Identity, 'wasm');
  registerKernel(wasmSharedIdentityConfig);
}

/** Puts wasm's own (copying) Identity back. */
export function unregisterWasmSharedIdentity(): void {
  if (getKernel(Identity, 'wasm')?.kernelFunc !== wasmSharedIdentityConfig.kernelFunc) return;
  unregisterKernel(Identity, 'wasm');
  if (stockIdentity !== undefined) registerKernel(stockIdentity);
}
