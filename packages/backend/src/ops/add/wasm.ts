// Add on wasm: where the native kernels run, one pass on every thread for two float32 tensors of one shape
// (native/elementwise.c `add`). Fallback: the stock wasm kernel (broadcasting, other dtypes, native off).
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Add, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';
import { runStockKernel, withStockFallback } from '../shared/wasm-heap.js';

function add(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm }): TensorInfo {
  const { inputs, backend } = args;
  const a = inputs['a']!;
  const b = inputs['b']!;
  const plain = a.dtype === 'float32' && b.dtype === 'float32' && util.arraysEqual(a.shape, b.shape);
  const native = plain ? nativeKernelsOfBackend(backend) : null;
  if (native === null) return runStockKernel(backend, Add, inputs);
  const out = backend.makeOutput(a.shape, 'float32');
  native.run('add', [
    wasmPointer(backend, a),
    wasmPointer(backend, b),
    wasmPointer(backend, out),
    util.sizeFromShape(a.shape),
  ]);
  return out;
}

export const addConfig = withStockFallback(Add, add);
