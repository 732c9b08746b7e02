// Conv2DBackpropFilter for the wasm backend, which ships without one: the filter gradient written as a
// FORWARD convolution so that it runs on wasm's XNNPACK Conv2D.
//
//   dW[i, j, ci, co] = Σ_{n, oh, ow} x[n, oh·s + i − padTop, ow·s + j − padLeft, ci] · dy[n, oh, ow, co]
//
// is a convolution whose "batch" is ci and whose reduced channel is n: the input x transposed to
// [Cin, H, W, N], the filter dy transposed to [OH, OW, N, Cout], the filter dilated by the stride s, with
// the forward pass's top/left padding and whatever bottom/right padding (or cropping) makes the output
// exactly [Cin, FH, FW, Cout]; a last transpose gives [FH, FW, Cin, Cout].
//
// A 1×1 filter has one tap, so the sum is a single matrix product [Cin, P] · [P, Cout] over the P = N·OH·OW
// pixels x's tap reads (every s-th one): wasm's BatchMatMul does it at about forward-conv speed, where the
// convolution above would spend most of its time re-laying out its P·Cout-element "filter". Only x is
// transposed (in JS, subsampling it on the way); dy is read as [P, Cout] as it lies.
//
// Where the native kernels run (threaded wasm build, Cout a multiple of 4), neither form is used: native/conv-direct.c
// computes the sum directly, tiled for the cache, on every thread, at about the speed of XNNPACK's forward
// convolution where the forms above reach about a third of it (bench/conv.ts).
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';
import type { NativeKernels } from '../../runtime/pool.js';
import { winogradApplies } from '../conv2d/wasm.js';

/** Tiles per block in native/winograd.c's winograd_filter_grad (WG_TILES there). */
const WINOGRAD_GRAD_TILES = 32;

import {
  batchToChannels,
  channelsFirst,
  channelsLastConvInfo,
  disposeIntermediate,
  runStockKernel,
} from '../shared/wasm-heap.js';

function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { filterShape } = attrs;
  const convInfo = channelsLastConvInfo(
    'Conv2DBackpropFilter',
    x.shape as [number, number, number, number],
    filterShape,
    attrs,
  );
  const native = nativeKernelsOfBackend(backend);
  if (native !== null && convInfo.outChannels % 4 === 0)
    return nativeFilterGrad(native, backend, x, dy, convInfo);
  return convInfo.filterHeight === 1 && convInfo.filterWidth === 1
    ? pointwiseFilterGrad(backend, x, dy, convInfo)
    : convolutionFilterGrad(backend, x, dy, convInfo);
}

function nativeFilterGrad(
  native: NativeKernels,
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = convInfo;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = convInfo;
  const out = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  const pointer = (info: TensorInfo) => wasmPointer(backend, info);
  const sizes = [batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels];
  if (winogradApplies(filterHeight, filterWidth, [strideHeight, strideWidth], inChannels)) {
    // Every thread's M [16, Cin, Cout], then every thread's V [16, tiles, Cin] and D [16, tiles, Cout].
    const transformFloats = 16 * inChannels * outChannels;
    const blockFloats = 16 * WINOGRAD_GRAD_TILES * (inChannels + outChannels);
    const work = native.scratch(native.threads * (transformFloats + blockFloats) * 4);
    native.run('winograd_filter_grad', [
      pointer(x),
      pointer(dy),
      work,
      ...sizes,
      convInfo.padInfo.top,
      convInfo.padInfo.left,
      native.zeros(Math.max(inChannels, outChannels)),
    ]);
    if (native.threads > 1) {
      native.run('sum_buffers', [work, work + transformFloats * 4, transformFloats, native.threads - 1]);
    }
    native.run('winograd_filter_grad_output', [work, pointer(out), inChannels, outChannels]);
    return out;
  }
  const filterSize = filterHeight * filterWidth * inChannels * outChannels;
  // Threads after the first sum their images into buffers of their own, added into `out` in thread order.
  const scratch = native.scratch((native.threads - 1) * filterSize * 4);
  native.run('conv2d_filter_grad', [
    pointer(x),
    pointer(dy),
    pointer(out),
    scratch,
    ...sizes,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    convInfo.padInfo.top,
    convInfo.padInfo.left,
  ]);
  if (native.threads > 1) native.run('sum_buffers', [pointer(out), scratch, filterSize, native.threads - 1]);
  return out;
}

function convolutionFilterGrad(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
): TensorInfo {
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } =
    convInfo;
  const { top, left } = convInfo.padInfo;
  // Rows of x below the last one the forward convolution read: negative means x has rows no output used,
  // which are left out of the transposed input.
  const bottom = (outHeight - 1) * strideHeight + filterHeight - inHeight - top;
  const right = (outWidth - 1) * strideWidth + filterWidth - inWidth - left;
  const inputT = batchToChannels(backend, x, {
    rows: inHeight + Math.min(bottom, 0),
    cols: inWidth + Math.min(right, 0),
    strides: [1, 1],
    top: 0,
    left: 0,
  });
  const dyT = runStockKernel(backend, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const gradT = runStockKernel(
    backend,
    'Conv2D',
    { x: inputT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, Math.max(bottom, 0)],
        [left, Math.max(right, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [strideHeight, strideWidth],
    },
  );
  disposeIntermediate(backend, inputT, dyT);
  const grad = runStockKernel(backend, 'Transpose', { x: gradT }, { perm: [1, 2, 0, 3] });
  disposeIntermediate(backend, gradT);
  return grad;
}

function pointwiseFilterGrad(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  convInfo: backend_util.Conv2DInfo,
): TensorInfo {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, strideHeight, strideWidth } = convInfo;
  const { top, left } = convInfo.padInfo;
  const pixels = batchSize * outHeight * outWidth;
  // dW = xᵀ [Cin, P] · dy [P, Cout], x's columns being the pixels the tap reads (every s-th one).
  const xT = channelsFirst(backend, x, {
    rows: outHeight,
    cols: outWidth,
    strides: [strideHeight, strideWidth],
    top,
    left,
  });
  const grad = matMul(backend, xT, dy, [inChannels, pixels, outChannels]);
  disposeIntermediate(backend, xT);
  return reshape(backend, grad, [1, 1, inChannels, outChannels]);
}

/** Reshapes `info` (consuming it) into `shape`. */
function reshape(backend: BackendWasm, info: TensorInfo, shape: number[]): TensorInfo {
  const out = runStockKernel(backend, 'Reshape', { x: info }, { shape });
  disposeIntermediate(backend, info);
  return out;
}

/** a · b for a read as [m, k] and b as [k, n], whatever their shapes; returns [m, n]. */
function matMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  [m, k, n]: [number, number, number],
): TensorInfo {
  const a3 = runStockKernel(backend, 'Reshape', { x: a }, { shape: [1, m, k] });
  const b3 = runStockKernel(backend, 'Reshape', { x: b }, { shape: [1, k, n] });
  const product = runStockKernel(
    backend,
    'BatchMatMul',
    { a: a3, b: b3 },
    { transposeA: false, transposeB: false },
  );
  disposeIntermediate(backend, a3, b3);
  return reshape(backend, product, [m, n]);
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
