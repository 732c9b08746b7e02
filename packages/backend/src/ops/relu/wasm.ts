// Relu on wasm: where the native kernels run, one pass on every thread (native/elementwise.c `relu`), where
// tfjs-backend-wasm runs it on one. Fallback: the stock wasm kernel, for non-float32 input or the native
// kernels off. (A webgpu path would sit beside this file.)
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Relu, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';
import { runStockKernel, withStockFallback } from '../shared/wasm-heap.js';

function relu(args: { inputs: Record<string, TensorInfo>; backend: BackendWasm }): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs['x']!;
  const native = x.dtype === 'float32' ? nativeKernelsOfBackend(backend) : null;
  if (native === null) return runStockKernel(backend, Relu, inputs);
  const out = backend.makeOutput(x.shape, 'float32');
  native.run('relu', [wasmPointer(backend, x), wasmPointer(backend, out), util.sizeFromShape(x.shape)]);
  return out;
}

export const reluConfig = withStockFallback(Relu, relu);
