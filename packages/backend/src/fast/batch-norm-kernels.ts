// Training-mode batch normalisation as two kernels, forward and backward, for the backends whose tensors live
// in JavaScript-visible memory (wasm's heap, cpu's typed arrays). Composed from tfjs ops, the forward pass
// takes five full passes over the input (moments, then FusedBatchNorm) and the closed-form backward eight;
// these take two each. Sums are accumulated in float64, so they are at least as accurate as tfjs's float32
// reductions. Why plain JavaScript: the per-channel loops are memory-bound, and V8 runs them at about the
// speed of tfjs-backend-wasm's own element-wise kernels; a new wasm kernel would need a C toolchain the
// package does not ship.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type DataId,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  registerKernel,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';

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
    scale[c] = gammav[c]! / Math.sqrt(variance + epsilon);
    shift[c] = betav[c]! - mean * scale[c]!;
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
  // dx = a·dy + b·(x − μ) + k, per channel: a = γ/σ, b = −a·dγ/(σ·N), k = −a·dβ/N.
  const a = new Float64Array(channels);
  const b = new Float64Array(channels);
  const k = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const invStd = 1 / Math.sqrt(variancev[c]! + epsilon);
    const dGamma = sumDyCentred[c]! * invStd;
    dgammav[c] = dGamma;
    dbetav[c] = sumDy[c]!;
    a[c] = gammav[c]! * invStd;
    b[c] = (-a[c]! * invStd * dGamma) / rows;
    // Folds b·(−μ) in, so the loop below reads x once.
    k[c] = (-a[c]! * sumDy[c]!) / rows - b[c]! * meanv[c]!;
  }
  for (let base = 0; base < size; base += channels) {
    for (let c = 0; c < channels; c++) {
      dxv[base + c] = a[c]! * dyv[base + c]! + b[c]! * xv[base + c]! + k[c]!;
    }
  }
  return infos;
}

type Inputs = Record<string, TensorInfo>;

function kernels(backendName: string, memoryOf: (backend: unknown) => Memory): KernelConfig[] {
  return [
    {
      kernelName: BatchNormTrainingKernel,
      backendName,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs: NamedAttrMap }) =>
        forward(
          memoryOf(backend),
          inputs['x']!,
          inputs['scale']!,
          inputs['offset']!,
          (attrs as unknown as BatchNormTrainingAttrs).varianceEpsilon,
        )) as unknown as KernelFunc,
    },
    {
      kernelName: BatchNormTrainingGradKernel,
      backendName,
      kernelFunc: (({ inputs, backend, attrs }: { inputs: Inputs; backend: unknown; attrs: NamedAttrMap }) =>
        backward(
          memoryOf(backend),
          inputs['dy']!,
          inputs['x']!,
          inputs['mean']!,
          inputs['variance']!,
          inputs['scale']!,
          (attrs as unknown as BatchNormTrainingAttrs).varianceEpsilon,
        )) as unknown as KernelFunc,
    },
  ];
}

const byBackend: Record<string, () => KernelConfig[]> = {
  wasm: () => kernels('wasm', (backend) => wasmMemory(backend as BackendWasm)),
  cpu: () => kernels('cpu', (backend) => cpuMemory(backend as CpuBackendLike)),
};

/** Registers both kernels for `backendName` if this file has them for it; returns whether it has. */
export function registerBatchNormKernels(backendName: string): boolean {
  const make = byBackend[backendName];
  if (make === undefined) return false;
  for (const config of make()) {
    if (getKernel(config.kernelName, backendName) === undefined) registerKernel(config);
  }
  return true;
}

/** Whether the kernels are registered for `backendName`. */
export function hasBatchNormKernels(backendName: string): boolean {
  return getKernel(BatchNormTrainingKernel, backendName) !== undefined;
}
