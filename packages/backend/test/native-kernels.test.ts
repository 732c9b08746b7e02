// The native wasm SIMD kernels (native/*.c, linked into native/kernels.wasm) and their worker pool (src/runtime/pool.ts): that they are
// what runs on wasm after initBackend; each kernel run directly through NativeKernels with 1, 2 and 3 threads
// against the cpu backend, bit for bit repeatable; the fallbacks when they are off or cannot take the
// channel count; the committed binary (imports, exports, sections, rebuilt from source where clang is here);
// and a trapping kernel reported as an Error rather than a hang.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendInfo, initBackend } from '../src/index.js';
import {
  BatchNormTrainingGradKernel,
  BatchNormTrainingKernel,
  configureNativeKernels,
  defaultWasmThreads,
  NativeKernels,
  nativeKernelNames,
  nativeKernelsOfBackend,
} from '../src/internals.js';
import { align16, type EmscriptenHeap, wasmPointer } from '../src/runtime/platform.js';
import { randomValues, relativeError, valuesOn } from './helpers.js';

const TOLERANCE = 1e-5;
const EPSILON = 1e-3;
const nativeFolder = fileURLToPath(new URL('../native/', import.meta.url));

/** The WebAssembly API of Node (the project's TypeScript lib has no DOM types). */
interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      validate(bytes: Uint8Array): boolean;
      Module: {
        new (bytes: Uint8Array): WasmModule;
        imports(module: WasmModule): { module: string; name: string; kind: string }[];
        exports(module: WasmModule): { name: string; kind: string }[];
      };
      Instance: new (module: WasmModule, imports: unknown) => unknown;
      Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => unknown;
    };
  }
).WebAssembly;

let wasmInfo: BackendInfo;
let backend: BackendWasm;
let heap: EmscriptenHeap;
/** NativeKernels of our own on the live backend's memory, by thread count. */
const pools = new Map<number, NativeKernels>();

function memory() {
  const shared = heap.wasmMemory;
  if (shared === undefined) throw new Error('the wasm backend has no wasmMemory (not the threaded build?)');
  return shared;
}

function pool(threads: number): NativeKernels {
  const found = pools.get(threads);
  if (found === undefined) throw new Error(`no pool of ${threads} threads`);
  return found;
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  wasmInfo = await initBackend({ backend: 'wasm' });
  backend = tf.findBackend('wasm') as BackendWasm;
  heap = backend.wasm as unknown as EmscriptenHeap;
  for (const threads of [1, 2, 3]) pools.set(threads, new NativeKernels(heap, memory(), threads));
});

afterAll(() => {
  for (const native of pools.values()) native.dispose();
  pools.clear();
  configureNativeKernels({ enabled: true });
});

const pointer = (tensor: tf.Tensor) => wasmPointer(backend, tensor);

/** Whether two arrays hold the same bits (so +0 ≠ −0 and NaN = NaN of the same payload). */
function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/** Runs `compute` on the wasm backend inside tidy (which disposes every tensor it made). */
function onWasm<T>(compute: () => T): T {
  tf.setBackend('wasm');
  let result: { value: T } | undefined;
  tf.tidy(() => {
    result = { value: compute() };
  });
  return result!.value;
}

// ---------------------------------------------------------------------------------------------------
// Convolution filter gradient

interface ConvCase {
  why: string;
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  filter: [number, number];
  stride: number;
  pad: 'same' | 'valid';
}

const convCases: ConvCase[] = [
  {
    why: '5 images on 1, 2, 3 threads; Ci 3: the one-channel tail only',
    batch: 5,
    height: 6,
    width: 6,
    inChannels: 3,
    outChannels: 8,
    filter: [3, 3],
    stride: 1,
    pad: 'same',
  },
  {
    why: '1 image (fewer than the threads); stride 2 same on odd size (pad top 1); Co 12: 8-wide + 4-wide tail',
    batch: 1,
    height: 7,
    width: 7,
    inChannels: 4,
    outChannels: 12,
    filter: [3, 3],
    stride: 2,
    pad: 'same',
  },
  {
    why: 'stride 2 same on even size (pad bottom only); Ci 6 = 4 + tail 2; Co 16',
    batch: 3,
    height: 8,
    width: 8,
    inChannels: 6,
    outChannels: 16,
    filter: [3, 3],
    stride: 2,
    pad: 'same',
  },
  {
    why: '1×1 filter; Co 4: the 4-wide tail only; Ci 5',
    batch: 4,
    height: 6,
    width: 5,
    inChannels: 5,
    outChannels: 4,
    filter: [1, 1],
    stride: 1,
    pad: 'valid',
  },
  {
    why: '1×1 filter, stride 2; Co 8',
    batch: 2,
    height: 7,
    width: 9,
    inChannels: 8,
    outChannels: 8,
    filter: [1, 1],
    stride: 2,
    pad: 'same',
  },
  {
    why: 'rows of 34 pixels (more than a 32-pixel block), 5×3 filter, valid',
    batch: 2,
    height: 6,
    width: 34,
    inChannels: 4,
    outChannels: 16,
    filter: [5, 3],
    stride: 1,
    pad: 'valid',
  },
];

function convGeometry(c: ConvCase) {
  const xShape: [number, number, number, number] = [c.batch, c.height, c.width, c.inChannels];
  const filterShape: [number, number, number, number] = [...c.filter, c.inChannels, c.outChannels];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.stride, 1, c.pad);
  const dyShape: [number, number, number, number] = [c.batch, info.outHeight, info.outWidth, c.outChannels];
  return { xShape, filterShape, dyShape, info };
}

function convInputs(c: ConvCase) {
  const { xShape, dyShape } = convGeometry(c);
  return { x: randomValues(xShape), dy: randomValues(dyShape) };
}

function cpuFilterGrad(c: ConvCase, x: Float32Array, dy: Float32Array): Float32Array {
  return valuesOn('cpu', filterGradOp(c, x, dy));
}

/** tfjs's Conv2DBackpropFilter kernel (tfjs-core does not export it as an op) on the active backend. */
function filterGradOp(c: ConvCase, x: Float32Array, dy: Float32Array): () => tf.Tensor {
  const { xShape, dyShape, filterShape } = convGeometry(c);
  return () =>
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, xShape), dy: tf.tensor4d(dy, dyShape) },
        { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape },
      ) as tf.Tensor;
}

/** conv2d_filter_grad params, in the order of native/conv-direct.c. */
function filterGradParams(c: ConvCase, x: number, dy: number, out: number, scratch: number): number[] {
  const { info } = convGeometry(c);
  return [
    x,
    dy,
    out,
    scratch,
    c.batch,
    c.height,
    c.width,
    c.inChannels,
    info.outHeight,
    info.outWidth,
    c.outChannels,
    c.filter[0],
    c.filter[1],
    c.stride,
    c.stride,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/**
 * The filter gradient by conv2d_filter_grad (+ sum_buffers), as src/wasm/conv2d-backprop-filter.ts runs it,
 * into an output and scratch filled with NaN first, so that any element a kernel fails to write shows.
 */
function nativeFilterGrad(native: NativeKernels, c: ConvCase, xValues: Float32Array, dyValues: Float32Array) {
  const { xShape, dyShape, filterShape } = convGeometry(c);
  return onWasm(() => {
    const x = tf.tensor4d(xValues, xShape);
    const dy = tf.tensor4d(dyValues, dyShape);
    const out = tf.fill(filterShape, Number.NaN);
    const scratchSize = (native.threads - 1) * out.size;
    const scratch = native.scratch(scratchSize * 4);
    native.f32(scratch, scratchSize).fill(Number.NaN);
    native.run('conv2d_filter_grad', filterGradParams(c, pointer(x), pointer(dy), pointer(out), scratch));
    if (native.threads > 1) native.run('sum_buffers', [pointer(out), scratch, out.size, native.threads - 1]);
    return out.dataSync() as Float32Array;
  });
}

function describeConv(c: ConvCase): string {
  return `x ${c.batch}×${c.height}×${c.width}×${c.inChannels}, ${c.filter.join('×')}→${c.outChannels}, stride ${c.stride} ${c.pad} (${c.why})`;
}

describe('after initBackend({ backend: "wasm" })', () => {
  it('the wasm backend has native kernels, with its thread count', () => {
    const native = nativeKernelsOfBackend(backend);
    expect(native).not.toBeNull();
    expect(wasmInfo.threads).toBe(defaultWasmThreads());
    expect(native!.threads).toBe(wasmInfo.threads);
    expect(wasmInfo.fast?.native).toBe(true);
    // One pool per backend, not one per kernel call.
    expect(nativeKernelsOfBackend(backend)).toBe(native);
  });

  it('Conv2DBackpropFilter on wasm is the native kernel: bit for bit a direct run with as many threads', () => {
    const c = convCases[0]!;
    const { x, dy } = convInputs(c);
    const before = tf.memory().numTensors;
    const viaEngine = valuesOn('wasm', filterGradOp(c, x, dy));
    const direct = new NativeKernels(heap, memory(), nativeKernelsOfBackend(backend)!.threads);
    try {
      expect(sameBits(viaEngine, nativeFilterGrad(direct, c, x, dy))).toBe(true);
    } finally {
      direct.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  // configureNativeKernels documents its `threads` as taking "effect for kernels that run after the call".
  it('configureNativeKernels({ threads }) changes the thread count of the kernels that run after it', () => {
    const threads = wasmInfo.threads! + 1;
    try {
      configureNativeKernels({ threads });
      expect(nativeKernelsOfBackend(backend)?.threads).toBe(threads);
    } finally {
      configureNativeKernels({ threads: wasmInfo.threads! });
    }
    expect(nativeKernelsOfBackend(backend)?.threads).toBe(wasmInfo.threads);
  });
});

describe('convolutions through the engine at several thread counts', () => {
  // Output rows (direct) or rows of tiles (Winograd) are split among threads, each computed whole by one
  // thread: the values cannot depend on the thread count, bit for bit. Winograd (32 input channels) differs
  // from the direct form by rounding only.
  it('conv2d, direct and Winograd, gives the same bits with 1, 2 and 3 threads, and both match cpu', () => {
    const x = tf.tensor4d(randomValues([3, 9, 7, 32]), [3, 9, 7, 32]);
    const filter = tf.tensor4d(randomValues([3, 3, 32, 20]), [3, 3, 32, 20]);
    const before = tf.memory().numTensors;
    tf.setBackend('cpu');
    const expected = tf.tidy(() => tf.conv2d(x, filter, 1, 'same').dataSync() as Float32Array);
    tf.setBackend('wasm');
    try {
      for (const winograd of [false, true]) {
        configureNativeKernels({ winograd });
        const results = [1, 2, 3].map((threads) => {
          configureNativeKernels({ threads });
          return onWasm(() => tf.conv2d(x, filter, 1, 'same').dataSync() as Float32Array);
        });
        expect(sameBits(results[0]!, results[1]!)).toBe(true);
        expect(sameBits(results[0]!, results[2]!)).toBe(true);
        expect(relativeError(results[0]!, expected)).toBeLessThan(1e-5);
      }
    } finally {
      configureNativeKernels({ winograd: true, threads: wasmInfo.threads! });
      x.dispose();
      filter.dispose();
    }
    expect(tf.memory().numTensors).toBe(before - 2);
  });
});

describe('the filter gradient in Winograd form (3×3, stride 1, 32+ input channels)', () => {
  // Each thread sums its images' transforms into its own buffer, added in thread order: the values depend on
  // the thread count by rounding only, and repeat bit for bit for a given count.
  it('matches cpu with 1, 2 and 3 threads (5 images: uneven shares) and repeats bit for bit', () => {
    const x = tf.tensor4d(randomValues([5, 9, 7, 32]), [5, 9, 7, 32]);
    const dy = tf.tensor4d(randomValues([5, 9, 7, 36]), [5, 9, 7, 36]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 32, 36] };
    const gradient = () =>
      (
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor
      ).dataSync() as Float32Array;
    const before = tf.memory().numTensors;
    tf.setBackend('cpu');
    const expected = tf.tidy(gradient);
    tf.setBackend('wasm');
    try {
      for (const threads of [1, 2, 3]) {
        configureNativeKernels({ threads });
        const first = onWasm(gradient);
        expect(relativeError(first, expected)).toBeLessThan(1e-5);
        expect(sameBits(onWasm(gradient), first)).toBe(true);
      }
    } finally {
      configureNativeKernels({ threads: wasmInfo.threads! });
      x.dispose();
      dy.dispose();
    }
    expect(tf.memory().numTensors).toBe(before - 2);
  });
});

describe('conv2d_filter_grad run directly', () => {
  for (const threads of [1, 2, 3]) {
    it.each(convCases.map((c) => [describeConv(c), c] as const))(
      `${threads} thread(s): matches cpu within 1e-5 and repeats bit for bit: %s`,
      (_, c) => {
        const native = pool(threads);
        const { x, dy } = convInputs(c);
        const before = tf.memory().numTensors;
        const expected = cpuFilterGrad(c, x, dy);
        const first = nativeFilterGrad(native, c, x, dy);
        const second = nativeFilterGrad(native, c, x, dy);
        expect(relativeError(first, expected)).toBeLessThan(TOLERANCE);
        expect(sameBits(second, first)).toBe(true);
        expect(tf.memory().numTensors).toBe(before);
      },
    );
  }

  it.each([1, 2, 3])(
    'sum_buffers with %i thread(s) adds 3 buffers of 10 floats (a scalar tail) in order',
    (threads) => {
      const native = pool(threads);
      const buffers = randomValues([3, 10]);
      const start = randomValues([10]);
      const expected = valuesOn('cpu', () =>
        tf.add(tf.tensor1d(start), tf.sum(tf.tensor2d(buffers, [3, 10]), 0)),
      );
      const before = tf.memory().numTensors;
      const actual = onWasm(() => {
        const out = tf.tensor1d(start);
        const scratch = native.scratch(buffers.byteLength);
        native.f32(scratch, buffers.length).set(buffers);
        native.run('sum_buffers', [pointer(out), scratch, 10, 3]);
        return out.dataSync() as Float32Array;
      });
      expect(relativeError(actual, expected)).toBeLessThan(TOLERANCE);
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// Batch normalisation

interface BnInputs {
  rows: number;
  channels: number;
  x: Float32Array;
  dy: Float32Array;
  mean: Float32Array;
  a: Float32Array;
  b: Float32Array;
  k: Float32Array;
}

interface BnSums {
  sum: Float32Array | Float64Array;
  sumSquares: Float32Array | Float64Array;
  y: Float32Array;
  sumDy: Float32Array | Float64Array;
  sumDyCentred: Float32Array | Float64Array;
  dx: Float32Array;
}

function bnInputs(rows: number, channels: number): BnInputs {
  // Centred away from 0, so that (x − μ) matters.
  const x = randomValues([rows, channels]).map((v) => 3 * v + 5);
  const mean = valuesOn('cpu', () => tf.mean(tf.tensor2d(x, [rows, channels]), 0));
  return {
    rows,
    channels,
    x,
    dy: randomValues([rows, channels]),
    mean,
    a: randomValues([channels]),
    b: randomValues([channels]),
    k: randomValues([channels]),
  };
}

/** What each BN kernel computes, composed from tfjs ops on the cpu backend. */
function cpuBn(p: BnInputs): BnSums {
  const shape: [number, number] = [p.rows, p.channels];
  const x = () => tf.tensor2d(p.x, shape);
  const dy = () => tf.tensor2d(p.dy, shape);
  const centred = () => tf.sub(x(), tf.tensor1d(p.mean));
  return {
    sum: valuesOn('cpu', () => tf.sum(x(), 0)),
    sumSquares: valuesOn('cpu', () => tf.sum(tf.square(centred()), 0)),
    y: valuesOn('cpu', () => tf.add(tf.mul(x(), tf.tensor1d(p.a)), tf.tensor1d(p.b))),
    sumDy: valuesOn('cpu', () => tf.sum(dy(), 0)),
    sumDyCentred: valuesOn('cpu', () => tf.sum(tf.mul(dy(), centred()), 0)),
    dx: valuesOn('cpu', () =>
      tf.add(tf.add(tf.mul(dy(), tf.tensor1d(p.a)), tf.mul(x(), tf.tensor1d(p.b))), tf.tensor1d(p.k)),
    ),
  };
}

/**
 * Runs the five BN kernels directly, as src/fast/batch-norm-kernels.ts does, into outputs and float64
 * partials filled with NaN first; adds each thread's partial sums in thread order.
 */
function nativeBn(native: NativeKernels, p: BnInputs): BnSums {
  const { rows, channels } = p;
  const shape: [number, number] = [rows, channels];
  const partialCount = native.threads * 2 * channels;
  return onWasm(() => {
    const x = tf.tensor2d(p.x, shape);
    const dy = tf.tensor2d(p.dy, shape);
    const [mean, a, b, k] = [p.mean, p.a, p.b, p.k].map((values) => tf.tensor1d(values)) as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
    const y = tf.fill(shape, Number.NaN);
    const dx = tf.fill(shape, Number.NaN);
    const partials = native.scratch(partialCount * 8);
    const totals = (run: () => void, perThread: number) => {
      native.f64(partials, partialCount).fill(Number.NaN);
      run();
      const values = native.f64(partials, native.threads * perThread);
      const sums = new Float64Array(perThread);
      for (let t = 0; t < native.threads; t++) {
        for (let c = 0; c < perThread; c++) sums[c] = sums[c]! + values[t * perThread + c]!;
      }
      return sums;
    };
    const sum = totals(() => native.run('bn_sum', [pointer(x), partials, rows, channels]), channels);
    const sumSquares = totals(
      () => native.run('bn_sum_squares', [pointer(x), partials, rows, channels, pointer(mean)]),
      channels,
    );
    native.run('bn_scale_shift', [pointer(x), pointer(y), rows, channels, pointer(a), pointer(b)]);
    const gradSums = totals(
      () => native.run('bn_grad_sums', [pointer(dy), pointer(x), partials, rows, channels, pointer(mean)]),
      2 * channels,
    );
    native.run('bn_grad_input', [
      pointer(dy),
      pointer(x),
      pointer(dx),
      rows,
      channels,
      pointer(a),
      pointer(b),
      pointer(k),
    ]);
    return {
      sum,
      sumSquares,
      y: y.dataSync() as Float32Array,
      sumDy: gradSums.slice(0, channels),
      sumDyCentred: gradSums.slice(channels),
      dx: dx.dataSync() as Float32Array,
    };
  });
}

// Rows: not a multiple of 64 (the kernels' block) nor of the thread count; fewer rows than threads.
const bnShapes: [rows: number, channels: number][] = [
  [131, 4],
  [200, 12],
  [2, 12],
  [70, 64],
];

describe('batch-norm kernels run directly', () => {
  for (const threads of [1, 2, 3]) {
    it.each(bnShapes)(
      `${threads} thread(s): rows %i, channels %i match cpu within 1e-5 and repeat bit for bit`,
      (rows, channels) => {
        const native = pool(threads);
        const p = bnInputs(rows, channels);
        const before = tf.memory().numTensors;
        const expected = cpuBn(p);
        const first = nativeBn(native, p);
        const second = nativeBn(native, p);
        for (const key of Object.keys(expected) as (keyof BnSums)[]) {
          expect(relativeError(first[key], expected[key]), key).toBeLessThan(TOLERANCE);
          expect(sameBits(second[key], first[key]), key).toBe(true);
        }
        expect(tf.memory().numTensors).toBe(before);
      },
    );
  }
});

// ---------------------------------------------------------------------------------------------------
// Fallbacks

/** Forward and backward training-mode batch normalisation by the registered kernels, on one backend. */
function bnKernels(
  name: 'cpu' | 'wasm',
  shape: number[],
  x: Float32Array,
  dy: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
) {
  const channels = shape[shape.length - 1]!;
  tf.setBackend(name);
  return tf.tidy(() => {
    const xt = tf.tensor(x, shape);
    const scale = tf.tensor1d(gamma);
    const attrs = { varianceEpsilon: EPSILON };
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BatchNormTrainingKernel, { x: xt, scale, offset: tf.tensor1d(beta) }, attrs) as tf.Tensor[];
    const grads = tf
      .engine()
      .runKernel(
        BatchNormTrainingGradKernel,
        { dy: tf.tensor(dy, shape), x: xt, mean: mean!, variance: variance!, scale },
        attrs,
      ) as tf.Tensor[];
    expect(mean!.shape).toEqual([channels]);
    return [y!, mean!, variance!, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/** The same, composed from tfjs ops (moments, then the closed-form gradient) on the cpu backend. */
function composedBn(
  shape: number[],
  x: Float32Array,
  dy: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
) {
  tf.setBackend('cpu');
  return tf.tidy(() => {
    const axes = shape.slice(0, -1).map((_, i) => i);
    const rows = x.length / shape[shape.length - 1]!;
    const xt = tf.tensor(x, shape);
    const g = tf.tensor(dy, shape);
    const scale = tf.tensor1d(gamma);
    const { mean, variance } = tf.moments(xt, axes);
    const std = tf.sqrt(tf.add(variance, EPSILON));
    const normalised = tf.div(tf.sub(xt, mean), std);
    const y = tf.add(tf.mul(normalised, scale), tf.tensor1d(beta));
    const dBeta = tf.sum(g, axes);
    const dGamma = tf.sum(tf.mul(g, normalised), axes);
    // dx = γ/σ · (dy − Σdy/N − x̂·Σ(dy·x̂)/N)
    const dx = tf.mul(
      tf.div(scale, std),
      tf.sub(tf.sub(g, tf.div(dBeta, rows)), tf.mul(normalised, tf.div(dGamma, rows))),
    );
    return [y, mean, variance, dx, dGamma, dBeta].map((t) => t.dataSync() as Float32Array);
  });
}

const outputNames = ['y', 'mean', 'variance', 'dx', 'dGamma', 'dBeta'];

function expectBnMatchesComposed(shape: number[]): void {
  const channels = shape[shape.length - 1]!;
  const x = randomValues(shape).map((v) => 3 * v + 5);
  const dy = randomValues(shape);
  const gamma = randomValues([channels]).map((v) => v + 1.5);
  const beta = randomValues([channels]);
  const before = tf.memory().numTensors;
  const expected = composedBn(shape, x, dy, gamma, beta);
  const actual = bnKernels('wasm', shape, x, dy, gamma, beta);
  expected.forEach((values, i) => {
    expect(relativeError(actual[i]!, values), outputNames[i]).toBeLessThan(TOLERANCE);
  });
  expect(tf.memory().numTensors).toBe(before);
}

/** Runs `body` with the native kernels switched off, and switches them back on whatever happens. */
function withNativeOff(body: () => void): void {
  configureNativeKernels({ enabled: false });
  try {
    expect(nativeKernelsOfBackend(backend)).toBeNull();
    body();
  } finally {
    configureNativeKernels({ enabled: true });
  }
  expect(nativeKernelsOfBackend(backend)).not.toBeNull();
}

describe('fallbacks', () => {
  it.each(convCases.map((c) => [describeConv(c), c] as const))(
    'configureNativeKernels({ enabled: false }): Conv2DBackpropFilter takes the old path, matches cpu: %s',
    (_, c) => {
      withNativeOff(() => {
        const { x, dy } = convInputs(c);
        const before = tf.memory().numTensors;
        const compute = filterGradOp(c, x, dy);
        expect(relativeError(valuesOn('wasm', compute), valuesOn('cpu', compute))).toBeLessThan(TOLERANCE);
        expect(tf.memory().numTensors).toBe(before);
      });
    },
  );

  it.each([[[2, 5, 7, 8]], [[3, 4, 4, 12]]])(
    'configureNativeKernels({ enabled: false }): the BN kernels take the JavaScript path, match composed cpu math for %j',
    (shape) => {
      withNativeOff(() => expectBnMatchesComposed(shape));
    },
  );

  it.each([[[2, 5, 7, 3]], [[3, 4, 4, 6]], [[7, 6]]])(
    'BN with channels not a multiple of 4 on wasm (JavaScript path) matches composed cpu math for %j',
    (shape) => {
      expectBnMatchesComposed(shape);
    },
  );

  it('BN with channels a multiple of 4 on wasm (native path) matches composed cpu math', () => {
    expectBnMatchesComposed([2, 5, 7, 8]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The committed binary

/** Reads an unsigned LEB128 number at `offset`; returns it and the offset after it. */
function leb128(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++];
    if (byte === undefined) throw new Error('LEB128 number runs past the end of the binary');
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, offset];
  }
}

/** The sections of a wasm binary: id, and where their contents lie. */
function sections(bytes: Uint8Array): { id: number; start: number; end: number }[] {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  expect([...bytes.subarray(0, 8)]).toEqual(header);
  const found: { id: number; start: number; end: number }[] = [];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset]!;
    const [size, start] = leb128(bytes, offset + 1);
    found.push({ id, start, end: start + size });
    offset = start + size;
  }
  expect(offset).toBe(bytes.length);
  return found;
}

/** The memory imports of an import section, with their limits flags (bit 1: shared). */
function memoryImports(bytes: Uint8Array, start: number): { module: string; name: string; flags: number }[] {
  const text = (at: number): [string, number] => {
    const [length, from] = leb128(bytes, at);
    return [Buffer.from(bytes.subarray(from, from + length)).toString('utf8'), from + length];
  };
  const [count, first] = leb128(bytes, start);
  const memories: { module: string; name: string; flags: number }[] = [];
  let offset = first;
  for (let i = 0; i < count; i++) {
    const [module, afterModule] = text(offset);
    const [name, afterName] = text(afterModule);
    const kind = bytes[afterName]!;
    // Only memory imports are parsed; kernels.wasm must have no other kind (checked by the caller).
    if (kind !== 0x02) throw new Error(`import ${module}.${name} is not a memory (kind ${kind})`);
    const flags = bytes[afterName + 1]!;
    let [, next] = leb128(bytes, afterName + 2);
    if ((flags & 1) !== 0) [, next] = leb128(bytes, next);
    memories.push({ module, name, flags });
    offset = next;
  }
  return memories;
}

describe('native/kernels.wasm', () => {
  const path = join(nativeFolder, 'kernels.wasm');

  it('exists, validates, imports only a shared env.memory and exports the kernels of nativeKernelNames', () => {
    expect(existsSync(path), `${path} is missing: run pnpm --filter @resnet/backend build:native`).toBe(true);
    const bytes = new Uint8Array(readFileSync(path));
    expect(WebAssemblyApi.validate(bytes)).toBe(true);
    const module = new WebAssemblyApi.Module(bytes);
    expect(WebAssemblyApi.Module.imports(module)).toEqual([
      { module: 'env', name: 'memory', kind: 'memory' },
    ]);
    const exports = WebAssemblyApi.Module.exports(module);
    expect(exports.every((e) => e.kind === 'function')).toBe(true);
    expect(exports.map((e) => e.name).sort()).toEqual([...nativeKernelNames].sort());
    const imports = sections(bytes).find((section) => section.id === 2)!;
    const [memory] = memoryImports(bytes, imports.start);
    expect(memory).toMatchObject({ module: 'env', name: 'memory' });
    expect(memory!.flags & 0b10, 'the imported memory is not shared').toBe(0b10);
    // The same, as the engine sees it: with the binary's limits (2 pages up to 4 GiB), a shared memory links
    // and an unshared one does not.
    const limits = { initial: 2, maximum: 65536 };
    const link = (shared: boolean) => () =>
      new WebAssemblyApi.Instance(module, {
        env: { memory: new WebAssemblyApi.Memory({ ...limits, shared }) },
      });
    expect(link(true)).not.toThrow();
    expect(link(false)).toThrow();
  });

  it('has no data section (11) and no start section (8): it writes nothing into tfjs memory on its own', () => {
    const ids = sections(new Uint8Array(readFileSync(path))).map((section) => section.id);
    expect(ids).toContain(10); // code: the parse found the real sections
    expect(ids).not.toContain(11);
    expect(ids).not.toContain(8);
  });

  const onPath = (name: string) =>
    (process.env['PATH'] ?? '')
      .split(delimiter)
      .some((folder) => folder !== '' && existsSync(join(folder, name)));
  // build.sh finds llvm-objdump on PATH or in Debian's /usr/lib/llvm-*/bin.
  const objdump =
    onPath('llvm-objdump') ||
    (existsSync('/usr/lib') &&
      readdirSync('/usr/lib').some(
        (d) => d.startsWith('llvm-') && existsSync(`/usr/lib/${d}/bin/llvm-objdump`),
      ));
  const toolchain = onPath('clang') && onPath('wasm-ld') && objdump;
  const nativeSources = ['common.h', 'conv-direct.c', 'batch-norm.c', 'elementwise.c', 'winograd.c'];

  it.skipIf(!toolchain)(
    'is what native/build.sh makes of the C sources, byte for byte (skipped without clang, wasm-ld, llvm-objdump)',
    () => {
      const folder = mkdtempSync(join(tmpdir(), 'resnet-native-kernels-'));
      try {
        for (const file of ['build.sh', ...nativeSources])
          copyFileSync(join(nativeFolder, file), join(folder, file));
        execFileSync('bash', [join(folder, 'build.sh')], { stdio: 'pipe' });
        const rebuilt = readFileSync(join(folder, 'kernels.wasm'));
        expect(
          rebuilt.equals(readFileSync(path)),
          'native/kernels.wasm is not built from native/*.c: run pnpm --filter @resnet/backend build:native',
        ).toBe(true);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// Errors

describe('a kernel that traps', () => {
  const c = convCases[0]!;

  /** conv2d_filter_grad with x pointing past the end of the memory; `batch` images. */
  function trappingRun(native: NativeKernels, batch: number): () => void {
    const geometry = { ...c, batch };
    const { dyShape, filterShape } = convGeometry(geometry);
    return () =>
      onWasm(() => {
        const dy = tf.zeros(dyShape);
        const out = tf.zeros(filterShape);
        const beyond = memory().buffer.byteLength;
        expect(beyond).toBeLessThan(2 ** 31);
        const scratch = native.scratch((native.threads - 1) * out.size * 4);
        native.run(
          'conv2d_filter_grad',
          filterGradParams(geometry, beyond, pointer(dy), pointer(out), scratch),
        );
      });
  }

  function expectPoolWorks(native: NativeKernels): void {
    const { x, dy } = convInputs(c);
    expect(relativeError(nativeFilterGrad(native, c, x, dy), cpuFilterGrad(c, x, dy))).toBeLessThan(
      TOLERANCE,
    );
  }

  it.each([1, 2])(
    'on %i thread(s): out-of-bounds x throws an Error naming the kernel, and the pool works afterwards',
    (threads) => {
      const native = pool(threads);
      const before = tf.memory().numTensors;
      expect(trappingRun(native, 2)).toThrowError(/native kernel conv2d_filter_grad failed/);
      expect(tf.memory().numTensors).toBe(before);
      expectPoolWorks(native);
      // Twice in a row: the failure flag was cleared.
      expect(trappingRun(native, 2)).toThrowError(/conv2d_filter_grad/);
      expectPoolWorks(native);
    },
  );

  it('on a worker alone (1 image, 2 threads: thread 0 has none) is reported too, and the pool works afterwards', () => {
    const native = pool(2);
    expect(trappingRun(native, 1)).toThrowError(/native kernel conv2d_filter_grad failed: on a worker/);
    expectPoolWorks(native);
  });
});

describe('scratch pointers', () => {
  it('are aligned to 16 bytes and stay unsigned past 2 GiB of wasm heap', () => {
    expect(align16(0)).toBe(0);
    expect(align16(1)).toBe(16);
    expect(align16(4096)).toBe(4096);
    expect(align16(2 ** 31 - 1)).toBe(2 ** 31);
    expect(align16(2 ** 31 + 1)).toBe(2 ** 31 + 16);
    expect(align16(2 ** 32 - 32)).toBe(2 ** 32 - 32);
  });
});

// ---------------------------------------------------------------------------------------------------
// The worker pool's protocol

describe('the worker pool', () => {
  // Issue 12, item 3: the main thread publishes a job (GENERATION + 1) and then notifies the workers. A
  // worker that is awake already (it had just finished the job before) sees the new generation, runs the job
  // and waits again before the main thread, descheduled under load, gets to its notify; that notify then woke
  // the worker, which took the wake-up for a new job and ran the same one again: a second DONE, counted for
  // the main thread's next job, which returned before the worker had run it (and sum_buffers added twice).
  it('runs each job once: a wake-up with no new job (the late notify of one already run) runs nothing', () => {
    const native = pool(2);
    // The control words of src/runtime/pool.ts: GENERATION is word 0, DONE word 4.
    const words = (native as unknown as { words: Int32Array }).words;
    const size = 64;
    const buffer = randomValues([size]);
    const start = randomValues([size]);
    onWasm(() => {
      const out = tf.tensor1d(start);
      const scratch = native.scratch(buffer.byteLength);
      native.f32(scratch, size).set(buffer);
      // out += buffer: not idempotent, so a second run of either share shows.
      native.run('sum_buffers', [wasmPointer(backend, out), scratch, size, 1]);
      const once = (out.dataSync() as Float32Array).slice();
      const done = Atomics.load(words, 4);
      expect(done).toBe(1);
      for (let i = 0; i < 3; i++) {
        Atomics.notify(words, 0);
        // Time for a worker to run a job it wrongly took the wake-up for (it never is one).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
      expect(Atomics.load(words, 4)).toBe(done);
      expect(out.dataSync()).toEqual(once);
      // And the pool still runs jobs.
      native.run('sum_buffers', [wasmPointer(backend, out), scratch, size, 1]);
      const twice = out.dataSync() as Float32Array;
      for (let i = 0; i < size; i++) expect(twice[i]).toBe(Math.fround(once[i]! + buffer[i]!));
    });
  });
});
