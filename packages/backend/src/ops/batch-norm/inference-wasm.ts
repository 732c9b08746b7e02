// FusedBatchNorm (inference) on wasm: where the native kernels run, x·a + b per channel on every thread
// (native/batch-norm.c `bn_scale_shift`), about 10× the stock kernel. Only batch normalisation with
// per-channel float32 parameters over a channels-last input goes native; the rest, and everything with the
// native kernels off, goes to the stock wasm kernel unchanged.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { FusedBatchNorm, type FusedBatchNormAttrs, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';
import { runStockKernel, withStockFallback } from '../shared/wasm-heap.js';

/** y = (x − mean)·scale/√(variance + ε) + offset, as x·a + b with a, b per channel. */
function fusedBatchNorm(args: {
  inputs: Record<string, TensorInfo>;
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

export const fusedBatchNormConfig = withStockFallback(FusedBatchNorm, fusedBatchNorm);
