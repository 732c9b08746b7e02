// Conv2DBackpropInput for the wasm backend, replacing the stock kernel (a direct loop about ten times slower
// than the forward Conv2D): the input gradient written as FORWARD convolutions on wasm's XNNPACK Conv2D.
//
//   dx[n, h, w, ci] = Σ_{i, j, co} dy[n, oh, ow, co] · W[i, j, ci, co]   where h = oh·s + i − padTop
//
// Stride 1: dy padded by FH − 1 − padTop above (and whatever below makes the height H), convolved with the
// filter flipped in both spatial axes and with in/out channels swapped ([FH, FW, Cout, Cin]); the padding is
// passed to Conv2D itself.
//
// Stride s > 1 ("sub-pixel" form): the rows h with (h + padTop) mod s = p only ever meet the filter taps
// i = p, p + s, p + 2s, …, so each of the s·s phases (p, q) of dx is a stride-1 convolution of dy with the
// sub-filter of those taps (flipped, channels swapped), and the phases are interleaved into dx. This does the
// convolution's own arithmetic and no more, where inserting s − 1 zeros between dy's rows and columns and
// convolving with the whole filter would multiply s² times as many values, nearly all of them zeros.
//
// Where the native kernels run, each of those stride-1 convolutions is native/conv-direct.c's `conv2d`, which
// pads or crops as it reads; otherwise XNNPACK's Conv2D.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend } from '../../runtime/platform.js';
import { nativeConv2D } from '../conv2d/wasm.js';
import {
  channelsLastConvInfo,
  disposeIntermediate,
  type Padding2D,
  padOrCrop,
  runStockKernel,
} from '../shared/wasm-heap.js';

function conv2DBackpropInput(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { inputShape } = attrs;
  const convInfo = channelsLastConvInfo(
    'Conv2DBackpropInput',
    inputShape,
    filter.shape as [number, number, number, number],
    attrs,
  );
  return convInfo.strideHeight === 1 && convInfo.strideWidth === 1
    ? unitStrideInputGrad(backend, dy, filter, convInfo)
    : subPixelInputGrad(backend, dy, filter, convInfo);
}

/** Convolves `dy` at stride 1 with `filter` [KH, KW, Cout, Cin], padding (or, if negative, cropping) dy first. */
function convolvePadded(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  padding: Padding2D,
): TensorInfo {
  const native = nativeKernelsOfBackend(backend);
  const [, height, width] = dy.shape as [number, number, number, number];
  const [filterHeight, filterWidth, , outChannels] = filter.shape as [number, number, number, number];
  if (native !== null && outChannels % 4 === 0) {
    // The native kernel takes padding and cropping alike, so nothing is copied.
    return nativeConv2D(native, backend, dy, filter, {
      strides: [1, 1],
      top: padding.top,
      left: padding.left,
      outHeight: height + padding.top + padding.bottom - filterHeight + 1,
      outWidth: width + padding.left + padding.right - filterWidth + 1,
    });
  }
  const attrs = { strides: [1, 1], dataFormat: 'NHWC', dilations: [1, 1] };
  if (Object.values(padding).some((amount) => amount < 0)) {
    const cropped = padOrCrop(backend, dy, padding);
    const out = runStockKernel(backend, 'Conv2D', { x: cropped, filter }, { ...attrs, pad: 'valid' });
    disposeIntermediate(backend, cropped);
    return out;
  }
  const pad = [
    [0, 0],
    [padding.top, padding.bottom],
    [padding.left, padding.right],
    [0, 0],
  ];
  return runStockKernel(backend, 'Conv2D', { x: dy, filter }, { ...attrs, pad });
}

function unitStrideInputGrad(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
): TensorInfo {
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = convInfo;
  const top = filterHeight - 1 - convInfo.padInfo.top;
  const left = filterWidth - 1 - convInfo.padInfo.left;
  // dy padded must be H + FH − 1 rows tall for a 'valid' convolution with an FH-row filter to give H rows.
  const padding: Padding2D = {
    top,
    left,
    bottom: inHeight + filterHeight - 1 - top - outHeight,
    right: inWidth + filterWidth - 1 - left - outWidth,
  };
  const flipped = runStockKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const flippedT = runStockKernel(backend, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  disposeIntermediate(backend, flipped);
  const grad = convolvePadded(backend, dy, flippedT, padding);
  disposeIntermediate(backend, flippedT);
  return grad;
}

/** One phase p of one spatial axis: which taps it meets and which dx rows (or columns) it produces. */
interface AxisPhase {
  /** Filter taps p, p + s, …: how many (0: these dx rows are all zero). */
  taps: number;
  /** First and count of the phase's rows m, where dx row h = m·s + p − pad. */
  first: number;
  count: number;
  /** Padding of dy before and after for a 'valid' convolution to give exactly `count` rows. */
  before: number;
  after: number;
}

function axisPhase(
  phase: number,
  filter: number,
  stride: number,
  pad: number,
  size: number,
  outSize: number,
): AxisPhase {
  const taps = phase < filter ? Math.ceil((filter - phase) / stride) : 0;
  // `|| 0` turns Math.ceil's -0 into 0.
  const first = Math.ceil((pad - phase) / stride) || 0;
  const count = Math.floor((size - 1 + pad - phase) / stride) - first + 1;
  // Phase row m gathers dy[m − k]·W[p + k·s] for k < taps: a correlation with the flipped taps over dy
  // padded by taps − 1 above, read from row `first`.
  const before = taps - 1 - first;
  return { taps, first, count, before, after: count + taps - 1 - before - outSize };
}

function subPixelInputGrad(
  backend: BackendWasm,
  dy: TensorInfo,
  filter: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outChannels, outHeight, outWidth } = convInfo;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = convInfo;
  const { top, left } = convInfo.padInfo;
  // A copy: allocations below may grow the wasm memory and detach views into it.
  const weights = (backend.typedArrayFromHeap(filter) as Float32Array).slice();
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);

  for (let p = 0; p < strideHeight; p++) {
    const rows = axisPhase(p, filterHeight, strideHeight, top, inHeight, outHeight);
    if (rows.taps === 0 || rows.count <= 0) continue;
    for (let q = 0; q < strideWidth; q++) {
      const cols = axisPhase(q, filterWidth, strideWidth, left, inWidth, outWidth);
      if (cols.taps === 0 || cols.count <= 0) continue;
      // Sub-filter [a, b, co, ci] = W[p + (taps − 1 − a)·s, q + (taps − 1 − b)·s, ci, co].
      const sub = new Float32Array(rows.taps * cols.taps * outChannels * inChannels);
      for (let a = 0; a < rows.taps; a++) {
        const i = p + (rows.taps - 1 - a) * strideHeight;
        for (let b = 0; b < cols.taps; b++) {
          const j = q + (cols.taps - 1 - b) * strideWidth;
          for (let co = 0; co < outChannels; co++) {
            for (let ci = 0; ci < inChannels; ci++) {
              sub[((a * cols.taps + b) * outChannels + co) * inChannels + ci] =
                weights[((i * filterWidth + j) * inChannels + ci) * outChannels + co]!;
            }
          }
        }
      }
      const subFilter = backend.makeOutput(
        [rows.taps, cols.taps, outChannels, inChannels],
        'float32',
        undefined,
        sub,
      );
      const phase = convolvePadded(backend, dy, subFilter, {
        top: rows.before,
        bottom: rows.after,
        left: cols.before,
        right: cols.after,
      });
      disposeIntermediate(backend, subFilter);
      scatterPhase(
        backend,
        phase,
        dx,
        [strideHeight, strideWidth],
        [rows.first * strideHeight + p - top, cols.first * strideWidth + q - left],
      );
      disposeIntermediate(backend, phase);
    }
  }
  return dx;
}

/** Writes phase [N, M, M', C] into dx [N, H, W, C] at rows offset + m·s and columns offset' + m'·s'. */
function scatterPhase(
  backend: BackendWasm,
  phase: TensorInfo,
  dx: TensorInfo,
  [strideHeight, strideWidth]: [number, number],
  [rowOffset, colOffset]: [number, number],
): void {
  const [batch, rows, cols, channels] = phase.shape as [number, number, number, number];
  const [, height, width] = dx.shape as [number, number, number, number];
  const source = backend.typedArrayFromHeap(phase) as Float32Array;
  const target = backend.typedArrayFromHeap(dx) as Float32Array;
  let from = 0;
  for (let n = 0; n < batch; n++) {
    for (let m = 0; m < rows; m++) {
      const rowStart = ((n * height + rowOffset + m * strideHeight) * width + colOffset) * channels;
      for (let mm = 0; mm < cols; mm++, from += channels) {
        const to = rowStart + mm * strideWidth * channels;
        for (let c = 0; c < channels; c++) target[to + c] = source[from + c]!;
      }
    }
  }
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
