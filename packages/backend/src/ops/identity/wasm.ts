// Identity (tf.clone) for wasm without a copy. tfjs's engine clones every tensor a kernel saves for its
// gradient (each conv's input and filter, each BN's input, each ReLU's input...), and tfjs-backend-wasm's
// Identity copies the whole buffer each time. tfjs tensors are immutable (a Variable's assign swaps its
// data, it never writes into it), so the clone can share the data and count one more reference, which is
// what tfjs-backend-cpu's Identity does. Fallback (sharedIdentity off): the stock copying kernel.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Identity,
  type IdentityInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
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
