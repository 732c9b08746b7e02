// Training-mode batch normalisation as two kernels, forward and backward, for the backends whose tensors live
// in JavaScript-visible memory (wasm's heap, cpu's typed arrays). Composed from tfjs ops, the forward pass
// takes five full passes over the input (moments, then FusedBatchNorm) and the closed-form backward eight;
// these take two each. Sums are accumulated in float64, so they are at least as accurate as tfjs's float32
// reductions. On wasm with the threaded build (channels a multiple of 4), ../../../native/batch-norm.c does the same
// passes in SIMD on every thread (about 7× faster than these loops in a ResNet-110 step); elsewhere these
// JavaScript loops run.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type DataId,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';
import type { NativeKernels } from '../../runtime/pool.js';

/** Kernel names; prefixed so that they cannot collide with tfjs's own. */
export const BatchNormTrainingKernel = 'ResnetBatchNormTraining';
export const BatchNormTrainingGradKernel = 'ResnetBatchNormTrainingGrad';

/** Attributes of both kernels. */
export interface BatchNormTrainingAttrs {
  varianceEpsilon: number;
}

/** Reading and writing float32 tensors of one backend as typed arrays. */
interface Memory {
  read(info: TensorInfo): Float32Array;
  /** Allocates every output first, then returns views (allocating on wasm may move the heap). */
  allocate(shapes: number[][]): { infos: TensorInfo[]; views: () => Float32Array[] };
}

interface CpuBackendLike {
  data: { get(dataId: DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values?: Float32Array): TensorInfo;
}

function wasmMemory(backend: BackendWasm): Memory {
  return {
    read: (info) => backend.typedArrayFromHeap(info) as Float32Array,
    allocate: (shapes) => {
      const infos = shapes.map((shape) => backend.makeOutput(shape, 'float32'));
      return { infos, views: () => infos.map((info) => backend.typedArrayFromHeap(info) as Float32Array) };
    },
  };
}

function cpuMemory(backend: CpuBackendLike): Memory {
  return {
    read: (info) => backend.data.get(info.dataId).values,
    allocate: (shapes) => {
      const arrays = shapes.map((shape) => new Float32Array(util.sizeFromShape(shape)));
      const infos = shapes.map((shape, i) => backend.makeTensorInfo(shape, 'float32', arrays[i]));
      return { infos, views: () => arrays };
    },
  };
}

function checkInputs(name: string, infos: TensorInfo[], channels: number): void {
  for (const info of infos) {
    if (info.dtype !== 'float32') throw new Error(`${name}: expected float32 inputs, got ${info.dtype}`);
  }
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`${name}: bad channel count ${channels}`);
}

/** y = x·scale + shift for one channel: scale = γ/√(σ² + ε), shift = β − μ·scale. */
function affine(gamma: number, beta: number, mean: number, variance: number, epsilon: number) {
  const scale = gamma / Math.sqrt(variance + epsilon);
  return { scale, shift: beta - mean * scale };
}

/**
 * The closed-form gradient for one channel from its two sums over the N rows, Σdy and Σdy·(x − μ): dγ, dβ,
 * and dx = a·dy + b·x + k, with a = γ/σ, b = −a·dγ/(σ·N) and k = −a·dβ/N − b·μ (b·(−μ) folded in, so that
 * the pass over the data reads x once).
 */
function gradientCoefficients(
  rows: number,
  sumDy: number,
  sumDyCentred: number,
  mean: number,
  variance: number,
  gamma: number,
  epsilon: number,
) {
  const invStd = 1 / Math.sqrt(variance + epsilon);
  const dGamma = sumDyCentred * invStd;
  const a = gamma * invStd;
  const b = (-a * invStd * dGamma) / rows;
  return { dGamma, dBeta: sumDy, a, b, k: (-a * sumDy) / rows - b * mean };
}

/**
 * y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² the mean and biased variance of x over every axis but the last.
 * Outputs [y, μ, σ²].
 */
function forward(memory: Memory, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, epsilon: number) {
  const channels = x.shape[x.shape.length - 1]!;
  checkInputs(BatchNormTrainingKernel, [x, gamma, beta], channels);
  const size = util.sizeFromShape(x.shape);
  const rows = size / channels;
  const { infos, views } = memory.allocate([x.shape, [channels], [channels]]);
  const [yv, meanv, variancev] = views() as [Float32Array, Float32Array, Float32Array];
  const xv = memory.read(x);
  const gammav = memory.read(gamma);
  const betav = memory.read(beta);
  const sum = new Float64Array(channels);
  const sumSquares = new Float64Array(channels);
  for (let base = 0; base < size; base += channels) {
    for (let c = 0; c < channels; c++) {
      const v = xv[base + c]!;
      sum[c] = sum[c]! + v;
      sumSquares[c] = sumSquares[c]! + v * v;
    }
  }
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const mean = sum[c]! / rows;
    // Float64 sums keep Σx²/N − μ² accurate unless |μ|/σ exceeds ~10⁷; the max guards rounding below 0.
    const variance = Math.max(sumSquares[c]! / rows - mean * mean, 0);
    meanv[c] = mean;
    variancev[c] = variance;
    ({ scale: scale[c], shift: shift[c] } = affine(gammav[c]!, betav[c]!, mean, variance, epsilon));
  }
  for (let base = 0; base < size; base += channels) {
    for (let c = 0; c < channels; c++) yv[base + c] = xv[base + c]! * scale[c]! + shift[c]!;
  }
  return infos;
}

/**
 * Closed-form gradient of {@link forward} with respect to x, γ and β (μ and σ² depend on x). Outputs
 * [dx, dγ, dβ].
 */
function backward(
  memory: Memory,
  dy: TensorInfo,
  x: TensorInfo,
  mean: TensorInfo,
  variance: TensorInfo,
  gamma: TensorInfo,
  epsilon: number,
) {
  const channels = x.shape[x.shape.length - 1]!;
  checkInputs(BatchNormTrainingGradKernel, [dy, x, mean, variance, gamma], channels);
  const size = util.sizeFromShape(x.shape);
  const rows = size / channels;
  const { infos, views } = memory.allocate([x.shape, [channels], [channels]]);
  const [dxv, dgammav, dbetav] = views() as [Float32Array, Float32Array, Float32Array];
  const dyv = memory.read(dy);
  const xv = memory.read(x);
  const meanv = memory.read(mean);
  const variancev = memory.read(variance);
  const gammav = memory.read(gamma);
  const sumDy = new Float64Array(channels);
  const sumDyCentred = new Float64Array(channels);
  for (let base = 0; base < size; base += channels) {
    for (let c = 0; c < channels; c++) {
      const g = dyv[base + c]!;
      sumDy[c] = sumDy[c]! + g;
      sumDyCentred[c] = sumDyCentred[c]! + g * (xv[base + c]! - meanv[c]!);
    }
  }
  const a = new Float64Array(channels);
  const b = new Float64Array(channels);
  const k = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    ({
      dGamma: dgammav[c],
      dBeta: dbetav[c],
      a: a[c],
      b: b[c],
      k: k[c],
    } = gradientCoefficients(
      rows,
      sumDy[c]!,
      sumDyCentred[c]!,
      meanv[c]!,
      variancev[c]!,
      gammav[c]!,
      epsilon,
    ));
  }
  for (let base = 0; base < size; base += channels) {
    for (let c = 0; c < channels; c++) {
      dxv[base + c] = a[c]! * dyv[base + c]! + b[c]! * xv[base + c]! + k[c]!;
    }
  }
  return infos;
}

/** Adds the per-thread float64 partial sums (thread after thread) into one array of `count` sums. */
function addPartials(native: NativeKernels, pointer: number, count: number): Float64Array {
  const partials = native.f64(pointer, native.threads * count);
  const totals = new Float64Array(count);
  for (let t = 0; t < native.threads; t++) {
    for (let c = 0; c < count; c++) totals[c] = totals[c]! + partials[t * count + c]!;
  }
  return totals;
}

/**
 * {@link forward} in native/batch-norm.c: mean, then variance as the mean of (x − μ)² (a second pass, exact where
 * Σx²/N − μ² would cancel), then y = x·a + b with a = γ/√(σ² + ε) and b = β − μ·a.
 */
function nativeForward(
  native: NativeKernels,
  backend: BackendWasm,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  epsilon: number,
): TensorInfo[] {
  const channels = x.shape[x.shape.length - 1]!;
  checkInputs(BatchNormTrainingKernel, [x, gamma, beta], channels);
  const rows = util.sizeFromShape(x.shape) / channels;
  const outputs = [x.shape, [channels], [channels]].map((shape) => backend.makeOutput(shape, 'float32'));
  const [y, mean, variance] = outputs as [TensorInfo, TensorInfo, TensorInfo];
  // Scratch: float64 partial sums per thread, then a and b.
  const partialBytes = native.threads * channels * 8;
  const scratch = native.scratch(partialBytes + 2 * channels * 4);
  const aPointer = scratch + partialBytes;
  const bPointer = aPointer + channels * 4;
  const xPointer = wasmPointer(backend, x);
  const meanPointer = wasmPointer(backend, mean);
  native.run('bn_sum', [xPointer, scratch, rows, channels]);
  const sums = addPartials(native, scratch, channels);
  const meanView = native.f32(meanPointer, channels);
  for (let c = 0; c < channels; c++) meanView[c] = sums[c]! / rows;
  native.run('bn_sum_squares', [xPointer, scratch, rows, channels, meanPointer]);
  const squares = addPartials(native, scratch, channels);
  const varianceView = native.f32(wasmPointer(backend, variance), channels);
  const gammaView = native.f32(wasmPointer(backend, gamma), channels);
  const betaView = native.f32(wasmPointer(backend, beta), channels);
  const a = native.f32(aPointer, channels);
  const b = native.f32(bPointer, channels);
  for (let c = 0; c < channels; c++) {
    varianceView[c] = squares[c]! / rows;
    ({ scale: a[c], shift: b[c] } = affine(
      gammaView[c]!,
      betaView[c]!,
      meanView[c]!,
      squares[c]! / rows,
      epsilon,
    ));
  }
  native.run('bn_scale_shift', [xPointer, wasmPointer(backend, y), rows, channels, aPointer, bPointer]);
  return outputs;
}

/** {@link backward} in native/batch-norm.c: the two sums in one pass, then dx in a second. */
function nativeBackward(
  native: NativeKernels,
  backend: BackendWasm,
  dy: TensorInfo,
  x: TensorInfo,
  mean: TensorInfo,
  variance: TensorInfo,
  gamma: TensorInfo,
  epsilon: number,
): TensorInfo[] {
  const channels = x.shape[x.shape.length - 1]!;
  checkInputs(BatchNormTrainingGradKernel, [dy, x, mean, variance, gamma], channels);
  const rows = util.sizeFromShape(x.shape) / channels;
  const outputs = [x.shape, [channels], [channels]].map((shape) => backend.makeOutput(shape, 'float32'));
  const [dx, dGamma, dBeta] = outputs as [TensorInfo, TensorInfo, TensorInfo];
  const partialBytes = native.threads * 2 * channels * 8;
  const scratch = native.scratch(partialBytes + 3 * channels * 4);
  const aPointer = scratch + partialBytes;
  const bPointer = aPointer + channels * 4;
  const kPointer = bPointer + channels * 4;
  const dyPointer = wasmPointer(backend, dy);
  const xPointer = wasmPointer(backend, x);
  const meanPointer = wasmPointer(backend, mean);
  native.run('bn_grad_sums', [dyPointer, xPointer, scratch, rows, channels, meanPointer]);
  const sums = addPartials(native, scratch, 2 * channels);
  const meanView = native.f32(meanPointer, channels);
  const varianceView = native.f32(wasmPointer(backend, variance), channels);
  const gammaView = native.f32(wasmPointer(backend, gamma), channels);
  const dGammaView = native.f32(wasmPointer(backend, dGamma), channels);
  const dBetaView = native.f32(wasmPointer(backend, dBeta), channels);
  const a = native.f32(aPointer, channels);
  const b = native.f32(bPointer, channels);
  const k = native.f32(kPointer, channels);
  for (let c = 0; c < channels; c++) {
    ({
      dGamma: dGammaView[c],
      dBeta: dBetaView[c],
      a: a[c],
      b: b[c],
      k: k[c],
    } = gradientCoefficients(
      rows,
      sums[c]!,
      sums[channels + c]!,
      meanView[c]!,
      varianceView[c]!,
      gammaView[c]!,
      epsilon,
    ));
  }
  native.run('bn_grad_input', [
    dyPointer,
    xPointer,
    wasmPointer(backend, dx),
    rows,
    channels,
    aPointer,
    bPointer,
    kPointer,
  ]);
  return outputs;
}

/** The native kernels for `backend` if they can take x with `channels` channels. */
function nativeFor(backend: unknown, x: TensorInfo): NativeKernels | null {
  const channels = x.shape[x.shape.length - 1]!;
  if (channels % 4 !== 0 || x.dtype !== 'float32') return null;
  return nativeKernelsOfBackend(backend as object);
}

type Inputs = Record<string, TensorInfo>;

function kernels(backendName: string, memoryOf: (backend: unknown) => Memory): KernelConfig[] {
  const wasm = backendName === 'wasm';
  return [
    {
      kernelName: BatchNormTrainingKernel,
      backendName,
      kernelFunc: (({
        inputs,
        backend,
        attrs,
      }: {
        inputs: Inputs;
        backend: unknown;
        attrs: NamedAttrMap;
      }) => {
        const epsilon = (attrs as unknown as BatchNormTrainingAttrs).varianceEpsilon;
        const native = wasm ? nativeFor(backend, inputs['x']!) : null;
        if (native !== null) {
          return nativeForward(
            native,
            backend as BackendWasm,
            inputs['x']!,
            inputs['scale']!,
            inputs['offset']!,
            epsilon,
          );
        }
        return forward(memoryOf(backend), inputs['x']!, inputs['scale']!, inputs['offset']!, epsilon);
      }) as unknown as KernelFunc,
    },
    {
      kernelName: BatchNormTrainingGradKernel,
      backendName,
      kernelFunc: (({
        inputs,
        backend,
        attrs,
      }: {
        inputs: Inputs;
        backend: unknown;
        attrs: NamedAttrMap;
      }) => {
        const epsilon = (attrs as unknown as BatchNormTrainingAttrs).varianceEpsilon;
        const native = wasm ? nativeFor(backend, inputs['x']!) : null;
        if (native !== null) {
          return nativeBackward(
            native,
            backend as BackendWasm,
            inputs['dy']!,
            inputs['x']!,
            inputs['mean']!,
            inputs['variance']!,
            inputs['scale']!,
            epsilon,
          );
        }
        return backward(
          memoryOf(backend),
          inputs['dy']!,
          inputs['x']!,
          inputs['mean']!,
          inputs['variance']!,
          inputs['scale']!,
          epsilon,
        );
      }) as unknown as KernelFunc,
    },
  ];
}

/** The two kernels for `backendName` ('wasm' or 'cpu', the backends whose memory JavaScript can read). */
export function batchNormKernelConfigs(backendName: 'wasm' | 'cpu'): KernelConfig[] {
  return backendName === 'wasm'
    ? kernels('wasm', (backend) => wasmMemory(backend as BackendWasm))
    : kernels('cpu', (backend) => cpuMemory(backend as CpuBackendLike));
}

/** Whether the kernels are registered for `backendName`. */
export function hasBatchNormKernels(backendName: string): boolean {
  return getKernel(BatchNormTrainingKernel, backendName) !== undefined;
}
