// Conv2DBackpropInput for the wasm backend, replacing the stock kernel (a direct loop about ten times slower
// than the forward Conv2D): the input gradient written as a FORWARD convolution on wasm's XNNPACK Conv2D.
//
//   dx[n, h, w, ci] = Σ_{i, j, co} dy[n, oh, ow, co] · W[i, j, ci, co]   where h = oh·s + i − padTop
//
// is the output gradient, with (s − 1) zeros inserted between its rows and columns, padded by FH − 1 − padTop
// above (and whatever below makes the height H), convolved at stride 1 with the filter flipped in both
// spatial axes and with in/out channels swapped ([FH, FW, Cout, Cin]). With stride 1 no zeros are needed
// and the padding is passed to Conv2D itself. A 1×1 filter at stride s mixes channels first and spreads after.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { dilateAndPad, disposeIntermediate, type Padding2D, runStockKernel } from './kernel-utils.js';

function conv2DBackpropInput(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const convInfo = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (convInfo.dataFormat !== 'channelsLast') {
    throw new Error(
      `@resnet/backend: wasm Conv2DBackpropInput supports dataFormat 'NHWC' only, got '${dataFormat}'`,
    );
  }
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } =
    convInfo;
  const padding: Padding2D = {
    top: filterHeight - 1 - convInfo.padInfo.top,
    left: filterWidth - 1 - convInfo.padInfo.left,
    bottom: 0,
    right: 0,
  };
  // The padded, dilated gradient must be H + FH − 1 rows tall for a 'valid' stride-1 convolution to give H.
  padding.bottom = inHeight + filterHeight - 1 - padding.top - ((outHeight - 1) * strideHeight + 1);
  padding.right = inWidth + filterWidth - 1 - padding.left - ((outWidth - 1) * strideWidth + 1);

  const flipped = runStockKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const flippedT = runStockKernel(backend, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  disposeIntermediate(backend, flipped);

  const needsLayout =
    strideHeight > 1 || strideWidth > 1 || Object.values(padding).some((amount) => amount < 0);
  const valid = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] };
  let grad: TensorInfo;
  if (needsLayout && filterHeight === 1 && filterWidth === 1) {
    // A 1×1 convolution is pointwise, so it commutes with inserting zeros: mix the channels of the small dy
    // first, then spread the result, instead of convolving s² times as many pixels, most of them zeros.
    const mixed = runStockKernel(backend, 'Conv2D', { x: dy, filter: flippedT }, valid);
    grad = dilateAndPad(backend, mixed, [strideHeight, strideWidth], padding);
    disposeIntermediate(backend, mixed);
  } else if (needsLayout) {
    const spread = dilateAndPad(backend, dy, [strideHeight, strideWidth], padding);
    grad = runStockKernel(backend, 'Conv2D', { x: spread, filter: flippedT }, valid);
    disposeIntermediate(backend, spread);
  } else {
    grad = runStockKernel(
      backend,
      'Conv2D',
      { x: dy, filter: flippedT },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padding.top, padding.bottom],
          [padding.left, padding.right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  }
  disposeIntermediate(backend, flippedT);
  return grad;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
