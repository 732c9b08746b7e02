// Relu, Add and FusedBatchNorm (inference) for the wasm backend where the native kernels run: one pass on
// every thread, where tfjs-backend-wasm runs them on one. Only the plain cases go native (float32, Add of two
// tensors of one shape, batch normalisation with per-channel parameters over a channels-last input); the rest,
// and everything when the native kernels are off, goes to the stock kernels unchanged.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Add,
  FusedBatchNorm,
  type FusedBatchNormAttrs,
  Relu,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../native/index.js';
import { runStockKernel, withStockFallback } from './kernel-utils.js';

type Inputs = Record<string, TensorInfo>;

function relu(args: { inputs: Inputs; backend: BackendWasm }): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs['x']!;
  const native = x.dtype === 'float32' ? nativeKernelsOfBackend(backend) : null;
  if (native === null) return runStockKernel(backend, Relu, inputs);
  const out = backend.makeOutput(x.shape, 'float32');
  native.run('relu', [wasmPointer(backend, x), wasmPointer(backend, out), util.sizeFromShape(x.shape)]);
  return out;
}

function add(args: { inputs: Inputs; backend: BackendWasm }): TensorInfo {
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

/** y = (x − mean)·scale/√(variance + ε) + offset, as x·a + b with a, b per channel. */
function fusedBatchNorm(args: {
  inputs: Inputs;
  backend: BackendWasm;
  attrs: FusedBatchNormAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs['x']!;
  const channels = x.shape[x.shape.length - 1]!;
  const parameters = ['mean', 'variance', 'scale', 'offset'].map((name) => inputs[name]);
  const plain =
    channels % 4 === 0 &&
    x.dtype === 'float32' &&
    parameters.every(
      (p, i) =>
        (p === undefined && i >= 2) ||
        (p !== undefined && p.dtype === 'float32' && p.shape.length === 1 && p.shape[0] === channels),
    );
  const native = plain ? nativeKernelsOfBackend(backend) : null;
  if (native === null) return runStockKernel(backend, FusedBatchNorm, inputs, attrs as never);
  const [mean, variance, scale, offset] = parameters.map((p) =>
    p === undefined ? undefined : native.f32(wasmPointer(backend, p), channels),
  );
  const scratch = native.scratch(2 * channels * 4);
  const a = native.f32(scratch, channels);
  const b = native.f32(scratch + channels * 4, channels);
  for (let c = 0; c < channels; c++) {
    const factor = (scale?.[c] ?? 1) / Math.sqrt(variance![c]! + attrs.varianceEpsilon);
    a[c] = factor;
    b[c] = (offset?.[c] ?? 0) - mean![c]! * factor;
  }
  const out = backend.makeOutput(x.shape, 'float32');
  native.run('bn_scale_shift', [
    wasmPointer(backend, x),
    wasmPointer(backend, out),
    util.sizeFromShape(x.shape) / channels,
    channels,
    scratch,
    scratch + channels * 4,
  ]);
  return out;
}

export const reluConfig = withStockFallback(Relu, relu);

export const addConfig = withStockFallback(Add, add);

export const fusedBatchNormConfig = withStockFallback(FusedBatchNorm, fusedBatchNorm);
